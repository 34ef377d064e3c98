"""Helpers shared by the benchmarks: percentiles, formatting, the summary row, the machine."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The project root, so benchmarks find the shipped content and child processes can import
# ``bot`` whatever the current directory is.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    benchmark: str
    figure: str
    target: str
    met: bool | None  # None: informational, no target

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("yes" if self.met else "NO")


@dataclass(frozen=True)
class Accuracy:
    """Top-1 answers against the right ones: in scope answered with the right intent, out of
    scope rejected, right overall, and answers with a wrong topic (share of all)."""

    in_scope: float
    out_of_scope: float
    overall: float
    wrong: float

    @classmethod
    def of(cls, expected: Sequence[str | None], got: Sequence[str | None]) -> Accuracy:
        pairs = list(zip(expected, got, strict=True))
        inside = [e == g for e, g in pairs if e is not None]
        outside = [g is None for e, g in pairs if e is None]
        wrong = [g is not None and g != e for e, g in pairs]
        return cls(share(inside), share(outside), share(inside + outside), share(wrong))


def share(flags: Sequence[bool]) -> float:
    """Share of true flags; NaN for none."""
    return sum(flags) / len(flags) if flags else math.nan


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: an observed sample, so p99 of 1,000 is the 10th worst."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else math.nan


def fmt_ns(ns: float) -> str:
    """A duration in the unit that keeps 2-3 significant digits readable."""
    if math.isnan(ns):
        return "n/a"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} us" if ns >= 100_000 else f"{ns / 1000:.1f} us"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.2f} ms" if ns < 10_000_000 else f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_bytes(size: float) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def fmt_ratio(ratio: float) -> str:
    if math.isnan(ratio) or math.isinf(ratio):
        return "n/a"
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2f}x"


def fmt_pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int = 1) -> str:
    """Plain-text table; columns from index ``right`` on are right-aligned (numbers)."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i >= right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def machine() -> str:
    """CPU model, cores and Python: figures only compare within one machine and run."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for text in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{model}, {usable} usable core(s) of {os.cpu_count()}, "
        f"Python {platform.python_version()} ({sys.implementation.name}), {platform.system()}"
    )
