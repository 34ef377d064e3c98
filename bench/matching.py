"""Benchmark 1: matching latency, index memory and accuracy, against the naive approach.

For the shipped content and generated bases of 1k, 10k and 100k examples, every question is
timed three ways, one right after the other so machine noise hits all three alike:

* ``rank``: ``engine.rank(q)``, the bot's matcher (timed first, so a typo it has not
  seen yet costs what it costs in production: the normaliser caches corrections per token);
* ``respond``: ``engine.respond(q)``, the full decision (ranking again, safety screen, ...);
* ``naive``: ``rapidfuzz.process.extractOne(q, all_example_texts, scorer=fuzz.WRatio,
  processor=default_process)``, what most FAQ bots do, answering when the score reaches
  ``NAIVE_CUTOFF``.

Top-1 answers are compared with the known right answer (an intent, or none for
out-of-scope questions) and with each other. Run ``python -m bench.matching --profile
100000`` to see where the matcher spends its time on a generated base.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import pstats
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bench.common import (
    PROJECT_ROOT,
    Accuracy,
    Row,
    fmt_bytes,
    fmt_ns,
    fmt_pct,
    fmt_ratio,
    median,
    percentile,
    share,
    table,
)
from bench.kb_generator import Query, generate
from bot.content.knowledge import Knowledge
from bot.content.loader import load_knowledge
from bot.engine import SAFETY, DialogueEngine
from bot.evaluation import load_eval_set
from bot.nlu.classifier import OUT_OF_SCOPE, Candidate
from bot.nlu.language import english_word_ranks
from bot.paths import default_content_dir

# The naive bot answers when WRatio reaches this; below it, it says "I don't know". 80 is
# the usual choice in rapidfuzz/fuzzywuzzy FAQ bots. The best cutoff in hindsight (tuned on
# the very questions scored, which flatters the naive bot) is reported too.
NAIVE_CUTOFF = 80.0
NAIVE_SWEEP = tuple(float(c) for c in range(50, 100, 5))
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
# Labelled questions for the shipped content, written independently of its examples.
SHIPPED_QUERY_FILES = ("tests/data/eval_set.yaml", "tests/data/holdout_set.yaml")
# Targets from the issue.
SHIPPED_P99_TARGET_NS = 1_000_000  # issue 9: rank/respond p99 <= 1 ms with the learned matcher
SPEEDUP_TARGET = 20.0


@dataclass(frozen=True)
class Timings:
    """Per-question latencies in nanoseconds."""

    samples: tuple[int, ...]

    @property
    def median(self) -> float:
        return median(self.samples)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else math.nan


@dataclass(frozen=True)
class MatchingResult:
    """Everything measured on one knowledge base."""

    name: str
    examples: int
    intents: int
    queries: int
    build_ns: int
    index_peak: int
    index_retained: int
    naive_index: int
    rank: Timings
    kinds: tuple[str, ...]  # kind of question of each rank sample, for the breakdown
    respond: Timings
    naive: Timings
    bot: Accuracy  # the matcher's top candidate, if it reaches the clarify threshold
    engine: Accuracy  # what the bot actually answers (asking back counts as no answer)
    naive_at_cutoff: Accuracy
    naive_best: Accuracy
    naive_best_cutoff: float
    agreement: float  # bot and naive top-1 identical (both rejecting counts as agreeing)

    def rank_by_kind(self) -> dict[str, Timings]:
        """``rank`` latencies per kind of question (paraphrase, typo, long, ...)."""
        grouped: dict[str, list[int]] = {}
        for kind, sample in zip(self.kinds, self.rank.samples, strict=True):
            grouped.setdefault(kind, []).append(sample)
        return {kind: Timings(tuple(samples)) for kind, samples in sorted(grouped.items())}

    @property
    def speedup_median(self) -> float:
        return self.naive.median / self.rank.median

    @property
    def speedup_p99(self) -> float:
        return self.naive.p99 / self.rank.p99

    @property
    def speedup_mean(self) -> float:
        return self.naive.mean / self.rank.mean


@dataclass(frozen=True)
class _Case:
    name: str
    knowledge: Knowledge
    queries: tuple[Query, ...]
    warmup: tuple[str, ...]
    rounds: int  # timing passes over the queries, each starting from a cold typo cache


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[MatchingResult]:
    """Measure the shipped content and the generated bases; print a table; return results."""
    english_word_ranks()  # shared language data, loaded once per process: not "the index"
    sizes = QUICK_SIZES if quick else FULL_SIZES
    in_scope, out_of_scope = (160, 40) if quick else (800, 200)
    results = [_measure(_shipped_case(rounds=1 if quick else 3), log)]
    for size in sizes:
        started = time.perf_counter()
        kb = generate(size, in_scope_queries=in_scope, out_of_scope_queries=out_of_scope)
        log(f"  generated {size:,} examples in {time.perf_counter() - started:.1f} s")
        warmup = tuple(q.text for q in kb.warmup)
        results.append(
            _measure(_Case(f"generated {size:,}", kb.knowledge, kb.queries, warmup, 1), log)
        )
    log("")
    log(report(results))
    return results


def _shipped_case(rounds: int) -> _Case:
    knowledge = load_knowledge(default_content_dir())
    queries: list[Query] = []
    for name in SHIPPED_QUERY_FILES:
        path = PROJECT_ROOT / name
        if path.is_file():
            queries += [Query(i.text, i.expect, i.kind or "") for i in load_eval_set(path)]
    # Warm up on the content's own examples: it exercises every code path but leaves the
    # labelled questions' unseen words (and typos) uncached.
    examples = [e.text for i in knowledge.intents.values() for e in i.examples]
    return _Case("shipped content", knowledge, tuple(queries), tuple(examples[::10]), rounds)


def _measure(case: _Case, log: Callable[[str], None]) -> MatchingResult:
    log(f"  matching: {case.name} ...")
    knowledge = case.knowledge
    started = time.perf_counter_ns()
    engine = DialogueEngine(knowledge)
    build_ns = time.perf_counter_ns() - started
    peak, retained = _index_memory(knowledge)

    choices: list[str] = []
    labels: list[str | None] = []
    for intent in knowledge.intents.values():
        choices += [e.text for e in intent.examples]
        labels += [intent.id] * len(intent.examples)
    # The naive bot gets the same information: its best match being one of the content's
    # out-of-scope examples means "not ours".
    choices += [e.text for e in knowledge.out_of_scope]
    labels += [None] * len(knowledge.out_of_scope)
    naive_index = _list_bytes(choices)

    rank_ns: list[int] = []
    kinds: list[str] = []
    respond_ns: list[int] = []
    naive_ns: list[int] = []
    bot_top: list[str | None] = []
    engine_top: list[str | None] = []
    naive_top: list[tuple[str | None, float]] = []
    clarify = engine.thresholds.clarify
    clock = time.perf_counter_ns
    for round_number in range(case.rounds):
        _clear_typo_cache(engine)
        for text in case.warmup:
            engine.rank(text)
            engine.respond(text)
            process.extractOne(text, choices, scorer=fuzz.WRatio, processor=default_process)
        gc.collect()  # start each pass with a clean slate rather than inherit a debt
        for query in case.queries:
            t0 = clock()
            ranked = engine.rank(query.text)
            t1 = clock()
            reply = engine.respond(query.text)
            t2 = clock()
            best = process.extractOne(
                query.text, choices, scorer=fuzz.WRatio, processor=default_process
            )
            t3 = clock()
            rank_ns.append(t1 - t0)
            kinds.append(query.kind or "unlabelled")
            respond_ns.append(t2 - t1)
            naive_ns.append(t3 - t2)
            if round_number == 0:
                bot_top.append(_bot_top1(ranked, clarify))
                engine_top.append(reply.answered_intent)
                naive_top.append((labels[best[2]], float(best[1])) if best else (None, 0.0))

    # Safety questions have no intent to find; only the engine's answer can be right.
    scored = [i for i, q in enumerate(case.queries) if q.expect != SAFETY]
    expected = [case.queries[i].expect for i in scored]
    bot = Accuracy.of(expected, [bot_top[i] for i in scored])
    engine_accuracy = Accuracy.of([q.expect for q in case.queries], engine_top)
    sweep = {
        cutoff: Accuracy.of(expected, [_naive_top1(naive_top[i], cutoff) for i in scored])
        for cutoff in NAIVE_SWEEP
    }
    best_cutoff = max(sweep, key=lambda c: (sweep[c].overall, -abs(c - NAIVE_CUTOFF)))
    naive_at_cutoff = [_naive_top1(naive_top[i], NAIVE_CUTOFF) for i in scored]
    agreement = share(
        [b == n for b, n in zip((bot_top[i] for i in scored), naive_at_cutoff, strict=True)]
    )
    return MatchingResult(
        name=case.name,
        examples=sum(len(i.examples) for i in knowledge.intents.values()),
        intents=len(knowledge.intents),
        queries=len(case.queries),
        build_ns=build_ns,
        index_peak=peak,
        index_retained=retained,
        naive_index=naive_index,
        rank=Timings(tuple(rank_ns)),
        kinds=tuple(kinds),
        respond=Timings(tuple(respond_ns)),
        naive=Timings(tuple(naive_ns)),
        bot=bot,
        engine=engine_accuracy,
        naive_at_cutoff=Accuracy.of(expected, naive_at_cutoff),
        naive_best=sweep[best_cutoff],
        naive_best_cutoff=best_cutoff,
        agreement=agreement,
    )


def _index_memory(knowledge: Knowledge) -> tuple[int, int]:
    """Peak and retained bytes allocated while building the index (normaliser + matcher).

    A separate build: tracemalloc slows allocation several-fold, so the timed build runs
    without it.
    """
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    engine = DialogueEngine(knowledge)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del engine
    return peak - before, current - before


def _list_bytes(choices: list[str]) -> int:
    """The naive index: a list of the example texts (the strings are the content's own)."""
    gc.collect()
    tracemalloc.start()
    copy = list(choices)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del copy
    return size


def _clear_typo_cache(engine: DialogueEngine) -> None:
    # Each timing pass starts as a fresh process would; the cache is an lru_cache wrapper.
    cache_clear = getattr(engine.normalizer.correct, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def _bot_top1(ranked: Sequence[Candidate], clarify: float) -> str | None:
    """The matcher's first choice, or None when it is out of scope or below asking back."""
    if not ranked or ranked[0].intent_id == OUT_OF_SCOPE or ranked[0].score < clarify:
        return None
    return ranked[0].intent_id


def _naive_top1(best: tuple[str | None, float], cutoff: float) -> str | None:
    label, score = best
    return label if score >= cutoff else None


def report(results: Sequence[MatchingResult]) -> str:
    """Two tables: speed and memory, then accuracy."""
    speed = table(
        [
            "knowledge base",
            "examples",
            "queries",
            "build",
            "index peak/kept",
            "rank med",
            "rank p99",
            "respond med",
            "respond p99",
            "naive med",
            "naive p99",
            "x faster med",
            "p99",
            "mean",
        ],
        [
            [
                r.name,
                f"{r.examples:,}",
                f"{len(r.rank.samples):,}",
                fmt_ns(r.build_ns),
                f"{fmt_bytes(r.index_peak)}/{fmt_bytes(r.index_retained)}",
                fmt_ns(r.rank.median),
                fmt_ns(r.rank.p99),
                fmt_ns(r.respond.median),
                fmt_ns(r.respond.p99),
                fmt_ns(r.naive.median),
                fmt_ns(r.naive.p99),
                fmt_ratio(r.speedup_median),
                fmt_ratio(r.speedup_p99),
                fmt_ratio(r.speedup_mean),
            ]
            for r in results
        ],
    )
    accuracy = table(
        [
            "knowledge base",
            "bot top-1",
            "in scope",
            "rejected oos",
            "engine answers",
            f"naive@{NAIVE_CUTOFF:.0f}",
            "in scope",
            "rejected oos",
            "naive best cutoff",
            "agreement",
        ],
        [
            [
                r.name,
                fmt_pct(r.bot.overall),
                fmt_pct(r.bot.in_scope),
                fmt_pct(r.bot.out_of_scope),
                fmt_pct(r.engine.overall),
                fmt_pct(r.naive_at_cutoff.overall),
                fmt_pct(r.naive_at_cutoff.in_scope),
                fmt_pct(r.naive_at_cutoff.out_of_scope),
                f"{fmt_pct(r.naive_best.overall)} @{r.naive_best_cutoff:.0f}",
                fmt_pct(r.agreement),
            ]
            for r in results
        ],
    )
    kinds = table(
        ["knowledge base", "kind of question", "count", "rank med", "rank p99"],
        [
            [r.name, kind, f"{len(t.samples):,}", fmt_ns(t.median), fmt_ns(t.p99)]
            for r in results
            for kind, t in r.rank_by_kind().items()
        ],
        right=2,
    )
    notes = (
        "rank = engine.rank (timed first: unseen typos pay their correction); "
        "respond = engine.respond right after it.\n"
        "naive = process.extractOne(q, examples, scorer=WRatio, processor=default_process); "
        "naive index = the list of example texts.\n"
        "index peak/kept = tracemalloc while building DialogueEngine (normaliser + matcher), "
        "English word list excluded (shared, loaded once).\n"
        "bot top-1 = matcher's first candidate if >= the clarify threshold and not out of "
        "scope; engine answers = respond() answering outright (asking back = no answer).\n"
        f"naive top-1 = best example's intent if WRatio >= {NAIVE_CUTOFF:.0f}; 'best cutoff' "
        "is tuned in hindsight on these same questions. Safety questions (shipped) are "
        "left out of top-1 accuracy."
    )
    return (
        f"Matching: speed and memory\n{speed}\n\nMatching: accuracy\n{accuracy}\n\n"
        f"Matching: rank latency by kind of question\n{kinds}\n\n{notes}"
    )


def rows(results: Sequence[MatchingResult]) -> list[Row]:
    """Summary rows against the issue's targets."""
    summary: list[Row] = []
    by_name = {r.name: r for r in results}
    shipped = by_name.get("shipped content")
    if shipped is not None:
        summary.append(
            Row(
                "matching: shipped content, rank p99",
                f"{fmt_ns(shipped.rank.p99)} (median {fmt_ns(shipped.rank.median)})",
                "<= 1 ms",
                shipped.rank.p99 < SHIPPED_P99_TARGET_NS,
            )
        )
        short = [
            sample
            for kind, sample in zip(shipped.kinds, shipped.rank.samples, strict=True)
            if kind != "long"
        ]
        summary.append(
            Row(
                "matching: shipped content, rank p99 w/o long",
                f"{fmt_ns(percentile(short, 99))} (multi-sentence messages left out)",
                "(info)",
                None,
            )
        )
        summary.append(
            Row(
                "matching: shipped content, vs naive",
                f"{fmt_ratio(shipped.speedup_median)} faster (median), top-1 "
                f"{fmt_pct(shipped.bot.overall)} vs {fmt_pct(shipped.naive_at_cutoff.overall)}",
                "(info)",
                None,
            )
        )
    largest = max((r for r in results if r.name != "shipped content"), key=lambda r: r.examples)
    label = f"matching: {largest.examples:,} examples"
    summary.append(
        Row(
            f"{label}, speed-up vs naive",
            f"{fmt_ratio(largest.speedup_median)} (median {fmt_ns(largest.rank.median)} vs "
            f"{fmt_ns(largest.naive.median)})",
            ">= 20x",
            largest.speedup_median >= SPEEDUP_TARGET,
        )
    )
    summary.append(
        Row(
            f"{label}, speed-up p99 / mean",
            f"{fmt_ratio(largest.speedup_p99)} / {fmt_ratio(largest.speedup_mean)} "
            f"(p99 {fmt_ns(largest.rank.p99)} vs {fmt_ns(largest.naive.p99)})",
            "(info)",
            None,
        )
    )
    naive_best = max(largest.naive_at_cutoff.overall, largest.naive_best.overall)
    summary.append(
        Row(
            f"{label}, top-1 accuracy",
            f"bot {fmt_pct(largest.bot.overall)} vs naive "
            f"{fmt_pct(largest.naive_at_cutoff.overall)} @{NAIVE_CUTOFF:.0f} "
            f"({fmt_pct(largest.naive_best.overall)} @{largest.naive_best_cutoff:.0f})",
            ">= naive",
            largest.bot.overall >= naive_best,
        )
    )
    summary.append(
        Row(
            f"{label}, index build / memory",
            f"{fmt_ns(largest.build_ns)}, {fmt_bytes(largest.index_retained)} kept "
            f"(peak {fmt_bytes(largest.index_peak)})",
            "(info)",
            None,
        )
    )
    return summary


def profile(size: int, queries: int = 400, top: int = 20) -> None:
    """cProfile the index build and ``rank`` on a generated base; print the hot spots."""
    kb = generate(size, in_scope_queries=queries * 4 // 5, out_of_scope_queries=queries // 5)
    profiler = cProfile.Profile()
    profiler.enable()
    engine = DialogueEngine(kb.knowledge)
    profiler.disable()
    print(f"--- build of {size:,} examples (cumulative) ---")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
    for query in kb.warmup:
        engine.rank(query.text)
    profiler = cProfile.Profile()
    slowest: list[tuple[float, str, str]] = []
    for query in kb.queries:
        started = time.perf_counter_ns()
        profiler.enable()
        engine.rank(query.text)
        profiler.disable()
        slowest.append(((time.perf_counter_ns() - started) / 1e6, query.kind, query.text))
    print(f"--- rank() over {len(kb.queries)} questions (own time) ---")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
    print("--- slowest questions (ms, under the profiler) ---")
    for entry in sorted(slowest, reverse=True)[:10]:
        print(f"{entry[0]:9.1f}  {entry[1]:<12}  {entry[2]}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer questions")
    parser.add_argument(
        "--profile", type=int, metavar="EXAMPLES", help="cProfile a generated base of this size"
    )
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile)
    else:
        for row in rows(run(quick=args.quick)):
            print(f"{row.benchmark}: {row.figure} (target {row.target}) {row.verdict}")


if __name__ == "__main__":
    main()
