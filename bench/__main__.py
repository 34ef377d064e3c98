"""Run the benchmarks and print one summary table: ``python -m bench [--quick] [--only X]``.

Progress and each benchmark's detailed tables go to stderr; stdout gets only the machine
and the summary (benchmark, figure, target, met?), so ``python -m bench > result.txt``
keeps just the table. Shared machines are noisy: compare figures from the same run
(every benchmark measures its side-by-side comparisons in one process, interleaved), not
across runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from bench import e2e, matching, quality, startup, teaching, typos, workers
from bench.common import Row, machine, table


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _matching(quick: bool) -> list[Row]:
    return matching.rows(matching.run(quick=quick, log=_log))


def _e2e(quick: bool) -> list[Row]:
    return e2e.rows(e2e.run(quick=quick, log=_log))


def _quality(quick: bool) -> list[Row]:
    results = quality.run(quick=quick, log=_log)
    _log(quality.report(results))
    return quality.rows(results)


def _teaching(quick: bool) -> list[Row]:
    return teaching.rows(teaching.run(quick=quick, log=_log))


def _typos(quick: bool) -> list[Row]:
    return typos.rows(typos.run(quick=quick, log=_log))


def _startup(quick: bool) -> list[Row]:
    return startup.rows(startup.run(quick=quick, log=_log))


def _workers(quick: bool) -> list[Row]:
    return workers.rows(workers.run(quick=quick, log=_log))


# Matching runs last: its 100k-example bases leave a large, fragmented heap behind that
# slowed the end-to-end figure by a fifth when it ran first.
BENCHMARKS: dict[str, Callable[[bool], list[Row]]] = {
    "startup": _startup,
    "e2e": _e2e,
    "workers": _workers,
    "matching": _matching,
    "quality": _quality,
    "teaching": _teaching,
    "typos": _typos,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks of the clinic FAQ bot (issue 6)."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller knowledge bases and fewer iterations: a smoke run for CI (< 60 s)",
    )
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args(argv)

    selected = [args.only] if args.only else list(BENCHMARKS)
    rows: list[Row] = []
    durations: list[str] = []
    started = time.perf_counter()
    for name in selected:
        _log(f"== {name}{' (quick)' if args.quick else ''} ==")
        begun = time.perf_counter()
        rows += BENCHMARKS[name](args.quick)
        durations.append(f"{name} {time.perf_counter() - begun:.1f} s")
        _log("")

    print(f"Machine: {machine()}")
    print(
        f"Mode: {'quick' if args.quick else 'full'}; took {', '.join(durations)}; total "
        f"{time.perf_counter() - started:.1f} s"
    )
    print()
    print(
        table(
            ["benchmark", "figure", "target", "met?"],
            [[r.benchmark, r.figure, r.target, r.verdict] for r in rows],
            right=4,  # all text: left-aligned
        )
    )
    missed = [r for r in rows if r.met is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
