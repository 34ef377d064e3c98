"""Benchmark 5: the clinic teaches its bot from /gaps, and the bot gets better.

A stream of questions the shipped content does not cover (``bench/data/uncovered_stream.yaml``,
written for this benchmark) is asked; the unanswered ones are grouped as ``/gaps`` groups
them; an admin reviews the 10 largest groups and teaches each what it is (a topic, or "not
ours"), as the buttons of ``/gaps`` would; the matcher retrains. Then the same stream is asked
again, and so are other people's phrasings of the same needs, never taught.

Figures: answer rate (a topic question answered with its topic, a "not ours" question left
unanswered) and wrong answers (a topic other than the right one, or any topic for a "not
ours" question), before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.common import PROJECT_ROOT, Row, fmt_pct
from bot.analytics.learning import lesson_problem, with_lessons
from bot.analytics.records import Learned
from bot.analytics.reports import find_gaps
from bot.content.loader import load_knowledge
from bot.engine import DialogueEngine
from bot.nlu.classifier import OUT_OF_SCOPE
from bot.paths import default_content_dir

STREAM = PROJECT_ROOT / "bench" / "data" / "uncovered_stream.yaml"
REVIEWED_GROUPS = 10


@dataclass(frozen=True)
class Score:
    right: int
    wrong: int
    total: int

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.total if self.total else 0.0


@dataclass(frozen=True)
class TeachingResult:
    taught: int
    refused: int
    stream_before: Score
    stream_after: Score
    later_before: Score
    later_after: Score


def load_stream(path: Path = STREAM) -> list[tuple[str, int, list[str], list[str]]]:
    """(label, times, phrasings asked, later phrasings) per group."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(g["label"], int(g["times"]), list(g["ask"]), list(g["later"])) for g in groups]


def score(engine: DialogueEngine, questions: Sequence[tuple[str, str]]) -> Score:
    """How many (question, label) pairs the engine handles right, and wrong."""
    right = wrong = 0
    for question, label in questions:
        answered = engine.respond(question).answered_intent
        if answered == label or (answered is None and label == OUT_OF_SCOPE):
            right += 1
        elif answered is not None:
            wrong += 1
    return Score(right, wrong, len(questions))


def run(quick: bool = False, log: Callable[[str], None] = print) -> TeachingResult:
    """Ask, review the largest gaps, teach, retrain, ask again."""
    content = load_knowledge(default_content_dir())
    engine = DialogueEngine(content)
    groups = load_stream()
    stream = [(q, label) for label, times, asked, _ in groups for q in asked for _ in range(times)]
    later = [(q, label) for label, _, _, phrasings in groups for q in phrasings]
    label_of = dict(stream)
    log(f"  teaching: {len(stream)} questions asked, {len(later)} held back ...")
    stream_before, later_before = score(engine, stream), score(engine, later)
    lessons: list[Learned] = []
    refused = 0
    now = datetime.now(UTC)
    # find_gaps leaves out what the bot answers already, as /gaps does.
    for gap in find_gaps([q for q, _ in stream], engine, limit=REVIEWED_GROUPS):
        label = label_of[gap.examples[0]]  # the admin knows what the group is about
        for text in gap.examples:
            if lesson_problem(engine, text, label) is None:
                lessons.append(Learned(len(lessons) + 1, text, label, now))
            else:
                refused += 1
    log(f"  teaching: {len(lessons)} phrasings taught, retraining ...")
    taught = DialogueEngine(with_lessons(content, lessons))
    return TeachingResult(
        len(lessons),
        refused,
        stream_before,
        score(taught, stream),
        later_before,
        score(taught, later),
    )


def rows(result: TeachingResult) -> list[Row]:
    """Benchmark table rows."""

    def cell(before: Score, after: Score) -> str:
        return (
            f"{fmt_pct(before.rate)} -> {fmt_pct(after.rate)} handled right, wrong "
            f"{fmt_pct(before.wrong_rate)} -> {fmt_pct(after.wrong_rate)}"
        )

    improved = result.stream_after.rate > result.stream_before.rate
    no_worse = result.stream_after.wrong <= result.stream_before.wrong
    return [
        Row(
            "teaching: the same stream, before -> after reviewing 10 gaps",
            cell(result.stream_before, result.stream_after),
            "higher, no more wrong",
            improved and no_worse,
        ),
        Row(
            "teaching: other phrasings of the same needs (never taught)",
            cell(result.later_before, result.later_after),
            "info",
            None,
        ),
        Row(
            "teaching: phrasings taught / refused",
            f"{result.taught} / {result.refused}",
            "info",
            None,
        ),
    ]
