"""Thresholds calibrated on the content itself, by cross-validation.

Each example is classified by a model that never saw it (K folds). Three signals of every
held-out prediction are mapped to the chance that the prediction is right by a small
logistic regression: the winning class's score, its lead over the runner-up, and the share
of the question's words the model has never seen (a question about "silver" prices is
not a question about our prices, however well "price" matches). That chance (0-100) is the
confidence the engine shows and decides on. Then:

* **answer threshold**: the confidence above which answering pays, counting a wrong answer
  as WRONG_ANSWER_COST right ones (a confident wrong answer is the worst outcome; saying "I
  don't know" costs nothing but the missed answer);
* **clarify threshold**: below the answer threshold, the confidence above which a "did you
  mean ...?" with the top choices holds the right topic more often than not.

Out-of-scope examples take part like any class, so "answered although out of scope" is one
of the wrong answers the threshold is set against. Nothing here knows any particular content.
"""

from __future__ import annotations

import math
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bot.nlu.features import WORD_PREFIX, CountMatrix, FeatureSpace
from bot.nlu.language import STOPWORDS
from bot.nlu.linear_model import LinearModel

WRONG_ANSWER_COST = 3.0
CLARIFY_CHOICES = 3
NEAR_BEST = 0.01  # thresholds whose gain is within 1% of the best are as good
# Two folds: with 7,500 examples each half still holds 50+ per topic, the figures match three
# folds on every set we measure (within an item or two), and cold training stays under 3 s.
DEFAULT_FOLDS = 2
MIN_HELD_OUT = 30  # fewer held-out predictions than this cannot calibrate anything
# Used when the content is too small to calibrate (and as bounds when it is not).
FALLBACK_ANSWER = 0.75
FALLBACK_CLARIFY = 0.4
# Used without calibration: a clear winner is confident, unknown words lower confidence.
FALLBACK_WEIGHTS = (4.0, 4.0, -2.0)
ANSWER_BOUNDS = (0.3, 0.95)
CLARIFY_BOUNDS = (0.1, 0.9)


@dataclass(frozen=True)
class Signals:
    """What a prediction's confidence is read from."""

    top: float  # the class's decision score
    lead: float  # its lead over the best other class (negative when it trails)
    unknown: float  # share of the question's topic words the model never saw (0-1)

    def vector(self) -> tuple[float, float, float]:
        return (self.top, self.lead, self.unknown)


@dataclass(frozen=True)
class HeldOut:
    """One example classified by a model trained without it."""

    truth: str
    ranked: tuple[str, ...]  # classes, best first
    signals: Signals


@dataclass(frozen=True)
class Calibration:
    """Signals-to-confidence map and the thresholds chosen with it (confidences 0-1)."""

    weights: tuple[float, float, float]  # for Signals.vector()
    intercept: float
    answer: float
    clarify: float
    held_out: int
    notes: tuple[str, ...] = ()

    def confidence(self, signals: Signals) -> float:
        """Chance that a prediction with these signals is right."""
        z = self.intercept + sum(w * x for w, x in zip(self.weights, signals.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def cross_validate(
    counts: CountMatrix,
    labels: Sequence[str],
    words: Sequence[list[str]],
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    pool: Executor | None = None,
) -> list[HeldOut]:
    """Held-out predictions for every example of a class with at least two examples.

    Folds train in parallel threads (``pool``, or one of our own): the SVM solver runs
    outside the GIL.
    """
    fold_of = np.asarray(assign_folds(labels, folds, seed))

    def run(fold: int) -> list[HeldOut]:
        train = np.flatnonzero(fold_of != fold)
        test = np.flatnonzero(fold_of == fold)
        if not len(test):
            return []
        space, matrix = counts.tfidf(train)
        model = LinearModel.fit(space, matrix[train], [labels[int(i)] for i in train])
        scores = model.matrix_scores(matrix[test])
        pairs = zip(test, scores, strict=True)
        return [
            held_out(model.classes, row, labels[int(i)], unknown_share(words[int(i)], space))
            for i, row in pairs
        ]

    if pool is not None:
        return [result for part in pool.map(run, range(folds)) for result in part]
    with ThreadPoolExecutor(max_workers=min(folds, os.cpu_count() or 1)) as own:
        return [result for part in own.map(run, range(folds)) for result in part]


def assign_folds(labels: Sequence[str], folds: int, seed: int = 0) -> list[int]:
    """Stratified folds; -1 (always trained on) for classes too small to hold one out."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        members[label].append(i)
    fold_of = [-1] * len(labels)
    shuffle = random.Random(seed)
    offset = 0
    for label in sorted(members):
        indices = members[label]
        if len(indices) < 2:
            continue
        shuffle.shuffle(indices)
        # A class with fewer examples than folds is held out in as many folds as it can
        # spare (leaving at least one example in training each time).
        for position, i in enumerate(indices):
            fold_of[i] = (offset + position) % folds
        offset += len(indices)
    return fold_of


def held_out(
    classes: Sequence[str], scores: NDArray[np.float32], truth: str, unknown: float
) -> HeldOut:
    order = np.argsort(-scores, kind="stable")
    signals = Signals(float(scores[order[0]]), _margin(scores, order), unknown)
    return HeldOut(truth, tuple(classes[i] for i in order), signals)


def unknown_share(words: Sequence[str], space: FeatureSpace) -> float:
    """Share of the topic words (filler aside) among ``words`` that ``space`` never saw."""
    topical = [f for f in words if f.startswith(WORD_PREFIX) and f[2:] not in STOPWORDS]
    if not topical:
        return 0.0
    return sum(1 for f in topical if f not in space.columns) / len(topical)


def _margin(scores: NDArray[np.float32], order: NDArray[np.intp]) -> float:
    return float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else 1.0


def calibrate(results: Sequence[HeldOut], silent: frozenset[str]) -> Calibration:
    """Fit the confidence map and choose the thresholds; ``silent`` classes are never
    answered as topics (out of scope), so they do not count as answers."""
    notes: list[str] = []
    correct = [r.ranked[0] == r.truth for r in results]
    if len(results) < MIN_HELD_OUT or all(correct) or not any(correct):
        notes.append(
            f"only {len(results)} held-out predictions"
            if len(results) < MIN_HELD_OUT
            else "held-out predictions are all right or all wrong"
        )
        notes.append(
            f"fixed thresholds used (answer {FALLBACK_ANSWER:.0%}, clarify {FALLBACK_CLARIFY:.0%})"
        )
        return Calibration(
            FALLBACK_WEIGHTS, -2.0, FALLBACK_ANSWER, FALLBACK_CLARIFY, len(results), tuple(notes)
        )
    from sklearn.linear_model import LogisticRegression

    signals = np.array([r.signals.vector() for r in results])
    fit = LogisticRegression(C=1.0).fit(signals, np.array(correct))
    top, lead, unknown = (float(w) for w in fit.coef_[0])
    draft = Calibration((top, lead, unknown), float(fit.intercept_[0]), 0.0, 0.0, len(results))
    scored = [(draft.confidence(r.signals), r) for r in results if r.ranked[0] not in silent]
    answer = _best_threshold(
        [(p, 1.0 if r.ranked[0] == r.truth else -WRONG_ANSWER_COST) for p, r in scored],
        ANSWER_BOUNDS,
        prefer=WRONG_ANSWER_COST / (1.0 + WRONG_ANSWER_COST),
    )
    below = [(p, r) for p, r in scored if p < answer]
    clarify = _best_threshold(
        [(p, 1.0 if _in_choices(r, silent) else -1.0) for p, r in below],
        (CLARIFY_BOUNDS[0], min(CLARIFY_BOUNDS[1], answer)),
        prefer=0.5,
    )
    return Calibration(draft.weights, draft.intercept, answer, clarify, len(results), tuple(notes))


def _in_choices(result: HeldOut, silent: frozenset[str]) -> bool:
    topics = [c for c in result.ranked if c not in silent][:CLARIFY_CHOICES]
    return result.truth in topics


def _best_threshold(
    gains: list[tuple[float, float]], bounds: tuple[float, float], prefer: float
) -> float:
    """The threshold t maximising the summed gain of the items with confidence >= t.

    The gain is nearly flat around its best (a few items either way), so the exact maximum
    jumps when a handful of examples change; among thresholds within NEAR_BEST of the best
    total, the one closest to ``prefer`` (where a calibrated confidence breaks even) wins.
    """
    low, high = bounds
    totals: list[tuple[float, float]] = []  # (threshold, gain of answering at or above it)
    total = 0.0
    for p, gain in sorted(gains, key=lambda item: -item[0]):
        total += gain
        if low <= p <= high:
            totals.append((p, total))
    if not totals:
        return min(max(prefer, low), high)
    best = max(t for _, t in totals)
    if best <= 0:
        return high  # answering never pays: be as cautious as the bounds allow
    near = [p for p, t in totals if t >= best - NEAR_BEST * abs(best)]
    return min(near, key=lambda p: abs(p - prefer))
