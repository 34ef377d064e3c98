"""The dialogue decision: question in, reply (text, suggestions, kind) out. No Telegram here.

The intent classifier (``bot.nlu``) is trained from the content when the engine is built
and gives every topic a calibrated confidence. The engine then decides, in this order:

1. **safety** patterns first: a question that needs a practitioner gets the safety answer;
2. **topics**: a topic at or above the answer threshold is answered; a message that asks two
   questions (two sentences, or "... and ...?") gets both answers, each with its title; in a
   message that tells a story around a question, the asking sentences decide;
3. **not offered**: a question about a treatment the clinic does not offer gets an honest
   "we don't offer that";
4. **small talk** (greetings, thanks) only when no real topic reaches the answer threshold;
5. a message in **another language** gets a short reply saying the assistant reads English,
   in that language too;
6. **did you mean**: a topic between the clarify and answer thresholds gets the top choices;
7. otherwise the honest **fallback**.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.content.knowledge import Knowledge
from bot.nlu.classifier import NOT_OFFERED, OUT_OF_SCOPE, Candidate, IntentClassifier
from bot.nlu.index_ranker import LINEAR_MODEL_MAX_INTENTS, IndexRanker, Ranker
from bot.nlu.language_id import LanguageGuesser
from bot.nlu.normalizer import TextNormalizer
from bot.nlu.safety import SafetyScreen
from bot.nlu.units import question_units

SAFETY = "safety"
# Follow-ups offered under the safety answer, when the content has these intents.
_SAFETY_FOLLOW_UPS = ("contraindications", "contact_human")
_MAX_CLARIFY = 3
# A one-word query ("treatment", "clinic") that no topic claims outright is asked back;
# from two words on ("consultation offered?") the calibrated confidence decides: on our
# evaluation sets that answers 1 to 30 more questions right each, for one more wrong topic.
KEYWORD_QUERY_WORDS = 1
MAX_ANSWERS = 2  # a message asking more than two things gets the two clearest answers
_RANKED = 8
_PSEUDO_INTENTS = frozenset({OUT_OF_SCOPE, NOT_OFFERED})
_HAS_WORD = re.compile(r"\w")


class ReplyKind(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"
    SAFETY = "safety"


class FallbackReason(StrEnum):
    """Why the bot did not answer: front ends show the same buttons, the text differs."""

    UNKNOWN = "unknown"
    NOT_OFFERED = "not_offered"
    OTHER_LANGUAGE = "other_language"


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
    # Further intents answered in the same reply (a message asking two things).
    also: tuple[str, ...] = ()
    reason: FallbackReason | None = None
    language: str | None = None

    @property
    def answered_intent(self) -> str | None:
        """Intent answered; "safety" for the safety answer; None if the bot did not answer."""
        if self.kind in (ReplyKind.ANSWER, ReplyKind.SMALLTALK):
            return self.intent_id
        return SAFETY if self.kind is ReplyKind.SAFETY else None


@dataclass(frozen=True)
class Thresholds:
    """Confidences (0-100) in force: calibrated from the content unless the clinic set them."""

    answer: float
    clarify: float
    calibrated_answer: float
    calibrated_clarify: float


class DialogueEngine:
    """Decides between answering, asking back, falling back and the safety answer."""

    def __init__(self, knowledge: Knowledge, cache_dir: Path | None = None) -> None:
        self.knowledge = knowledge
        self.normalizer = TextNormalizer.for_content(knowledge)
        self.classifier: Ranker = (
            IntentClassifier.build(knowledge, self.normalizer, cache_dir)
            if len(knowledge.intents) <= LINEAR_MODEL_MAX_INTENTS
            else IndexRanker(knowledge, self.normalizer)
        )
        self.safety = SafetyScreen(knowledge.safety_patterns)
        self.languages = LanguageGuesser(self.normalizer.vocabulary)
        calibration = self.classifier.calibration
        overrides = knowledge.thresholds
        answer = 100.0 * calibration.answer
        clarify = 100.0 * calibration.clarify
        self.thresholds = Thresholds(
            answer=answer if overrides.answer is None else overrides.answer,
            clarify=clarify if overrides.clarify is None else overrides.clarify,
            calibrated_answer=round(answer, 1),
            calibrated_clarify=round(clarify, 1),
        )

    def rank(self, text: str, limit: int = 5) -> list[Candidate]:
        """Every class for ``text`` with its confidence, best first (pseudo-intents too)."""
        return self.classifier.rank(text, limit)

    def respond(self, question: str) -> Reply:
        """Reply to a free-text question."""
        if not _HAS_WORD.search(question):
            return self.fallback()  # empty, emoji only, punctuation only
        # Read once: the safety screen and the matcher (through the normaliser's cache) use
        # the same words.
        reading = self.normalizer.read(question)
        ranked = tuple(self.rank(question, _RANKED))
        if self.safety.flags(reading):
            return Reply(
                ReplyKind.SAFETY,
                self.knowledge.message("safety"),
                self._suggestions(i for i in _SAFETY_FOLLOW_UPS if i in self.knowledge.responses),
                candidates=ranked,
            )
        top = ranked[0]
        answer_at = self.thresholds.answer
        answers = self._confident_topics(question, ranked)
        if answers:
            return self.answer(*answers, score=answers[0].score, candidates=ranked)
        if top.intent_id == NOT_OFFERED and top.score >= answer_at and self._has(NOT_OFFERED):
            return self.fallback(ranked, FallbackReason.NOT_OFFERED)
        if self._is_smalltalk(top.intent_id) and top.score >= answer_at:
            return self.answer(top, score=top.score, candidates=ranked)
        language = self.languages.foreign_language(question)
        if language is not None and self._has("other_language"):
            # Before "did you mean": a topic guessed from a few shared words ("acupuntura
            # facial") is no help to someone who reads another language.
            return self.fallback(ranked, FallbackReason.OTHER_LANGUAGE, language)
        topics = [c for c in ranked if self._is_topic(c.intent_id)]
        if (
            top.intent_id not in _PSEUDO_INTENTS
            and topics
            and topics[0].score >= self.thresholds.clarify
        ):
            return Reply(
                ReplyKind.CLARIFY,
                self.knowledge.message("clarify"),
                self._suggestions(c.intent_id for c in topics[:_MAX_CLARIFY]),
                score=topics[0].score,
                candidates=ranked,
            )
        return self.fallback(ranked)

    def _confident_topics(self, question: str, ranked: tuple[Candidate, ...]) -> list[Candidate]:
        """Topics to answer, first asked first: the whole message's, or its questions'."""
        answer_at = self.thresholds.answer
        top = ranked[0]
        whole = (
            [top]
            if self._is_topic(top.intent_id)
            and top.score >= answer_at
            and self._claimed(question, top)
            else []
        )
        units, story = question_units(question)
        if (len(units) < 2 and not story) or top.intent_id in _PSEUDO_INTENTS:
            # A message that as a whole is about something else (a pet, a treatment we do
            # not offer) is not ours, even if a familiar phrase inside it is.
            return whole
        found: list[Candidate] = []
        for unit in units:
            best = self.classifier.rank(unit, 1, context=question if story else None)[0]
            new = all(best.intent_id != c.intent_id for c in found)
            if new and self._is_topic(best.intent_id) and best.score >= answer_at:
                found.append(best)
        if story:
            # The story around a question mentions other topics: the questions decide.
            return found[:MAX_ANSWERS] or whole
        if whole and all(top.intent_id != c.intent_id for c in found):
            found.insert(0, top)  # the message as a whole is clearest about this one
        return found[:MAX_ANSWERS]

    def _claimed(self, question: str, top: Candidate) -> bool:
        """False for a keyword query ("treatment") that no topic claims outright (every
        topic's score below zero): it wins only by default, so we ask instead of guessing.
        Every word counts: "is it ok for everyone" is a question, not a keyword."""
        if top.signals is None or top.signals.top >= 0:
            return True
        return len(self.normalizer.canonical_tokens(question)) > KEYWORD_QUERY_WORDS

    def _is_topic(self, intent_id: str) -> bool:
        intent = self.knowledge.intents.get(intent_id)
        return intent is not None and not intent.smalltalk

    def _is_smalltalk(self, intent_id: str) -> bool:
        intent = self.knowledge.intents.get(intent_id)
        return intent is not None and intent.smalltalk

    def _has(self, message: str) -> bool:
        return message in self.knowledge.messages

    def answer(
        self,
        *picked: Candidate | str,
        score: float = 100.0,
        candidates: tuple[Candidate, ...] = (),
    ) -> Reply:
        """The curated answer of one intent (after a match, a button press or a deep link),
        or of two, each under its title, when a message asked two things."""
        intent_ids = [p if isinstance(p, str) else p.intent_id for p in picked]
        first = intent_ids[0]
        responses = [self.knowledge.responses[i] for i in intent_ids]
        if len(responses) == 1:
            text = responses[0].answer
        else:
            text = "\n\n".join(f"<b>{r.title}</b>\n{r.answer.strip()}" for r in responses)
        follow_ups = [f for r in responses for f in r.follow_ups if f not in intent_ids]
        smalltalk = self.knowledge.intents[first].smalltalk
        return Reply(
            ReplyKind.SMALLTALK if smalltalk else ReplyKind.ANSWER,
            text,
            self._suggestions(follow_ups),
            intent_id=first,
            score=score,
            candidates=candidates,
            also=tuple(intent_ids[1:]),
        )

    def fallback(
        self,
        candidates: tuple[Candidate, ...] = (),
        reason: FallbackReason = FallbackReason.UNKNOWN,
        language: str | None = None,
    ) -> Reply:
        """The honest "I don't know that one" (or "we don't offer that", or "I read
        English") with popular topics to try instead."""
        if reason is FallbackReason.OTHER_LANGUAGE:
            translated = self.knowledge.messages.get(f"other_language_{language}")
            english = self.knowledge.message("other_language")
            text = f"{translated}\n\n{english}" if translated else english
        elif reason is FallbackReason.NOT_OFFERED:
            text = self.knowledge.message("not_offered")
        else:
            text = self.knowledge.message("fallback")
        return Reply(
            ReplyKind.FALLBACK,
            text,
            self._suggestions(self.knowledge.popular_topics),
            score=candidates[0].score if candidates else 0.0,
            candidates=candidates,
            reason=reason,
            language=language,
        )

    def welcome(self) -> Reply:
        """The first message: who we are and popular topics."""
        return Reply(
            ReplyKind.SMALLTALK,
            self.knowledge.message("welcome"),
            self._suggestions(self.knowledge.popular_topics),
        )

    def is_safety_question(self, text: str) -> bool:
        """Whether the safety screen takes ``text`` (a practitioner, never a topic, answers)."""
        return self.safety.flags(self.normalizer.read(text))

    def words_of(self, text: str) -> list[str]:
        """The words of ``text`` as the matcher reads them: typos corrected against the
        content's vocabulary, plurals folded, synonyms replaced."""
        return self.normalizer.canonical_tokens(text)

    def nearest_topic(self, text: str) -> Candidate | None:
        """The topic closest to ``text`` with its confidence, however low (for reports)."""
        return next((c for c in self.rank(text) if self._is_topic(c.intent_id)), None)

    def topics_for(self, text: str, limit: int) -> list[str]:
        """Topics worth offering for a (possibly partial) query, e.g. in inline mode.

        Unlike ``respond`` this lists every plausible topic instead of deciding on one;
        a safety question lists the safety topics first; an empty query, popular topics.
        """
        if not text.strip():
            return list(self.knowledge.popular_topics)[:limit]
        intent_ids: list[str] = []
        if self.safety.flags(self.normalizer.read(text)):
            intent_ids += [i for i in _SAFETY_FOLLOW_UPS if i in self.knowledge.responses]
        ranked = self.rank(text, limit + len(_PSEUDO_INTENTS) + 3)
        if ranked and ranked[0].intent_id in _PSEUDO_INTENTS:
            ranked = []  # not about us: only the safety topics, if any
        intent_ids += [
            c.intent_id
            for c in ranked
            if self._is_topic(c.intent_id) and c.score >= self.thresholds.clarify
        ]
        return list(dict.fromkeys(intent_ids))[:limit]

    def _suggestions(self, intent_ids: Iterable[str]) -> tuple[Suggestion, ...]:
        ids = dict.fromkeys(intent_ids)
        return tuple(Suggestion(i, self.knowledge.title(i)) for i in ids)
