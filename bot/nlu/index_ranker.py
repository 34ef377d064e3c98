"""Ranking for very large contents, where a linear model per intent does not fit.

A linear model keeps a weight for every (feature, intent) pair: for thousands of intents
(a 100,000-example knowledge base) that is gigabytes and minutes of training. Beyond
LINEAR_MODEL_MAX_INTENTS the engine ranks with the inverted-index matcher
(``bot.nlu.index_matcher``) instead, whose 0-100 scores are read with fixed thresholds.
"""

from __future__ import annotations

from typing import Protocol

from bot.content.knowledge import Knowledge
from bot.nlu.calibration import Calibration
from bot.nlu.classifier import Candidate
from bot.nlu.index_matcher import Matcher
from bot.nlu.normalizer import TextNormalizer

LINEAR_MODEL_MAX_INTENTS = 500
# The index matcher's scores are not probabilities; these were its tuned thresholds.
INDEX_ANSWER = 0.72
INDEX_CLARIFY = 0.55


class Ranker(Protocol):
    """What the engine needs of a ranker: candidates and the thresholds that go with them."""

    calibration: Calibration

    def rank(self, text: str, limit: int = 5, context: str | None = None) -> list[Candidate]: ...


class IndexRanker:
    """The inverted-index matcher behind the ranker interface."""

    def __init__(self, knowledge: Knowledge, normalizer: TextNormalizer) -> None:
        self.matcher = Matcher(knowledge, normalizer)
        self.calibration = Calibration(
            (0.0, 0.0, 0.0),
            0.0,
            INDEX_ANSWER,
            INDEX_CLARIFY,
            0,
            (f"more than {LINEAR_MODEL_MAX_INTENTS} intents: index matcher, fixed thresholds",),
        )

    def rank(self, text: str, limit: int = 5, context: str | None = None) -> list[Candidate]:
        ranked = self.matcher.rank(text, limit)  # the index matcher scores clauses itself
        return [Candidate(c.intent_id, c.score) for c in ranked] or [Candidate("out_of_scope", 0.0)]
