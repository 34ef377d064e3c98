"""The dialogue decision: question in, reply (text, suggestions, kind) out. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.knowledge import Knowledge
from bot.matcher import OUT_OF_SCOPE, Candidate, Matcher
from bot.safety import SafetyScreen
from bot.text_normalizer import TextNormalizer

SAFETY = "safety"
# Follow-ups offered under the safety answer, when the content has these intents.
_SAFETY_FOLLOW_UPS = ("contraindications", "contact_human")
_MAX_CLARIFY = 3
# A question whose clinic words weigh less than this ("treatment?", "face", "needles") is
# too vague to answer outright even when one topic scores well: we offer the top topics.
VAGUE_QUESTION_WEIGHT = 1.75
# ... unless it (nearly) is one of the content's own examples (its author decided), or the
# best topic scores at least VAGUE_ANSWER and leads the next one by more than VAGUE_MARGIN.
EXAMPLE_MATCH = 95.0
VAGUE_ANSWER = 85.0
VAGUE_MARGIN = 15.0


class ReplyKind(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"
    SAFETY = "safety"


@dataclass(frozen=True)
class Suggestion:
    """A follow-up the user can pick: an intent id and its button label."""

    intent_id: str
    label: str


@dataclass(frozen=True)
class Reply:
    """What the bot says back; front ends decide how to show it."""

    kind: ReplyKind
    text: str
    suggestions: tuple[Suggestion, ...] = ()
    intent_id: str | None = None
    score: float = 0.0
    candidates: tuple[Candidate, ...] = ()

    @property
    def answered_intent(self) -> str | None:
        """Intent answered; "safety" for the safety answer; None if the bot did not answer."""
        if self.kind in (ReplyKind.ANSWER, ReplyKind.SMALLTALK):
            return self.intent_id
        return SAFETY if self.kind is ReplyKind.SAFETY else None


class DialogueEngine:
    """Decides between answering, asking back, falling back and the safety answer."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        corpus = [e.text for i in knowledge.intents.values() for e in i.examples]
        corpus += [e.text for e in knowledge.out_of_scope]
        self.normalizer = TextNormalizer(knowledge.synonyms, corpus)
        self.matcher = Matcher(knowledge, self.normalizer)
        self.safety = SafetyScreen(knowledge.safety_patterns)

    def respond(self, question: str) -> Reply:
        """Reply to a free-text question."""
        match = self.matcher.match(question, limit=8)
        ranked = match.candidates
        if self.safety.flags(question, self.normalizer.corrected_words(question)):
            return Reply(
                ReplyKind.SAFETY,
                self.knowledge.message("safety"),
                self._suggestions(i for i in _SAFETY_FOLLOW_UPS if i in self.knowledge.responses),
                candidates=ranked,
            )
        return self._decide(ranked, vague=match.information < VAGUE_QUESTION_WEIGHT)

    def _decide(self, ranked: tuple[Candidate, ...], vague: bool) -> Reply:
        thresholds = self.knowledge.thresholds
        pool = self._contenders(ranked)
        if not pool:
            return self.fallback(ranked)
        top = pool[0]
        if self.knowledge.intents[top.intent_id].smalltalk:
            # Small talk is answered or not: "did you mean 'goodbye'?" helps nobody.
            if top.score >= thresholds.answer:
                return self.answer(top.intent_id, score=top.score, candidates=ranked)
            return self.fallback(ranked)
        rivals = self._rivals(pool, vague)
        if top.score >= thresholds.answer and not rivals:
            return self.answer(top.intent_id, score=top.score, candidates=ranked)
        if not rivals:  # a single topic between the thresholds: "did you mean ...?"
            rivals = [c for c in pool[1:_MAX_CLARIFY] if c.score >= thresholds.clarify]
        options = [top, *rivals]
        return Reply(
            ReplyKind.CLARIFY,
            self.knowledge.message("clarify"),
            self._suggestions(c.intent_id for c in options),
            score=top.score,
            candidates=ranked,
        )

    def _contenders(self, ranked: tuple[Candidate, ...]) -> list[Candidate]:
        """Candidates still in the running, best first; empty when the bot should not answer."""
        thresholds = self.knowledge.thresholds
        rejected = next((c.score for c in ranked if c.intent_id == OUT_OF_SCOPE), 0.0)
        real = [c for c in ranked if c.intent_id != OUT_OF_SCOPE]
        # "hi, does it hurt?" is a question, not a greeting: small talk only counts when
        # no real topic is in sight.
        topical = [c for c in real if not self.knowledge.intents[c.intent_id].smalltalk]
        chatty = next((c.score for c in real if c not in topical), 0.0)
        floor = max(thresholds.clarify, chatty - thresholds.margin)
        pool = topical if topical and topical[0].score >= floor else real
        if not pool or pool[0].score < thresholds.clarify or rejected >= pool[0].score:
            return []
        return pool

    def _rivals(self, pool: list[Candidate], vague: bool) -> list[Candidate]:
        """Topics too close to the best one to choose between them without asking."""
        thresholds = self.knowledge.thresholds
        top = pool[0]
        if vague and top.score < EXAMPLE_MATCH:
            margin = VAGUE_MARGIN if top.score >= VAGUE_ANSWER else thresholds.answer
            floor = max(thresholds.clarify, top.score - margin)
            return [c for c in pool[1:_MAX_CLARIFY] if c.score >= floor]
        return [c for c in pool[1:_MAX_CLARIFY] if c.score > top.score - thresholds.margin]

    def answer(
        self, intent_id: str, score: float = 100.0, candidates: tuple[Candidate, ...] = ()
    ) -> Reply:
        """The curated answer of one intent (after a match, a button press or a deep link)."""
        response = self.knowledge.responses[intent_id]
        smalltalk = self.knowledge.intents[intent_id].smalltalk
        return Reply(
            ReplyKind.SMALLTALK if smalltalk else ReplyKind.ANSWER,
            response.answer,
            self._suggestions(response.follow_ups),
            intent_id=intent_id,
            score=score,
            candidates=candidates,
        )

    def fallback(self, candidates: tuple[Candidate, ...] = ()) -> Reply:
        """The honest "I don't know that one" with popular topics to try instead."""
        best = candidates[0].score if candidates else 0.0
        return Reply(
            ReplyKind.FALLBACK,
            self.knowledge.message("fallback"),
            self._suggestions(self.knowledge.popular_topics),
            score=best,
            candidates=candidates,
        )

    def welcome(self) -> Reply:
        """The first message: who we are and popular topics."""
        return Reply(
            ReplyKind.SMALLTALK,
            self.knowledge.message("welcome"),
            self._suggestions(self.knowledge.popular_topics),
        )

    def topics_for(self, text: str, limit: int) -> list[str]:
        """Topics worth offering for a (possibly partial) query, e.g. in inline mode.

        Unlike ``respond`` this lists every plausible topic instead of deciding on one;
        a safety question lists the safety topics first; an empty query, popular topics.
        """
        if not text.strip():
            return list(self.knowledge.popular_topics)[:limit]
        intent_ids: list[str] = []
        if self.safety.flags(text, self.normalizer.corrected_words(text)):
            intent_ids += [i for i in _SAFETY_FOLLOW_UPS if i in self.knowledge.responses]
        threshold = self.knowledge.thresholds.clarify
        intent_ids += [
            c.intent_id
            for c in self.matcher.rank(text, limit=limit + len(intent_ids) + 1)
            if c.intent_id != OUT_OF_SCOPE and c.score >= threshold
        ]
        topical = [i for i in dict.fromkeys(intent_ids) if not self.knowledge.intents[i].smalltalk]
        return topical[:limit]

    def _suggestions(self, intent_ids: object) -> tuple[Suggestion, ...]:
        ids = dict.fromkeys(intent_ids)  # type: ignore[call-overload]
        return tuple(Suggestion(i, self.knowledge.title(i)) for i in ids)
