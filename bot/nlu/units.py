"""Where the questions are in a message: the parts worth classifying on their own.

A message may ask two things ("How much is it? And does it hurt?", "how much is it and
does it hurt"), or wrap one question in a story ("I'm 52 and my skin has lost its bounce.
My friend swears by facial acupuncture. Would it help me?"). The whole message is always
classified too; these units let the engine answer both questions, or the one asked.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_QUESTION_WORDS = (
    r"how|what|whats|when|where|why|who|which|can|could|do|does|did|is|are|will|would|"
    r"should|may|might|have|has|any"
)
_QUESTION_START = re.compile(rf"^\W*({_QUESTION_WORDS})\b", re.IGNORECASE)
# "..., and does it hurt", "...; what about", "... also how long", "cost/ does insurance
# cover it": a second question starts.
_SECOND_QUESTION = re.compile(
    rf"\s*(?:[,;/]\s*(?:and|also|plus)?|\s(?:and|also|plus))\s*(?=(?:{_QUESTION_WORDS})\b)",
    re.IGNORECASE,
)
MAX_UNITS = 12  # a very long message: its first questions are enough


def is_question(sentence: str) -> bool:
    """A "?" at the end, or a question word first."""
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(sentence))


def sentences_of(text: str) -> list[str]:
    """The sentences of ``text`` (a line break ends one too)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def question_units(text: str) -> tuple[list[str], bool]:
    """Parts of ``text`` to classify separately (fewer than two: just the whole), and
    whether the message tells a story around its questions (then only they count)."""
    sentences = sentences_of(text)
    units: list[str] = []
    story = False
    for number, sentence in enumerate(sentences):
        parts = [p for p in _SECOND_QUESTION.split(sentence) if p.strip()]
        if not all(is_question(p) for p in parts):
            # "I'm 50, how many sessions would I need?": the telling part is the context
            # of the asking part, so the sentence stays whole.
            parts = [sentence]
        if not is_question(parts[-1]):
            story = story or len(sentences) > 1
            continue
        if len(parts) == 1 and number > 0 and not is_question(sentences[number - 1]):
            # The question's "it" usually lives in the telling sentence before it.
            units.append(f"{sentences[number - 1]} {sentence}")
        else:
            units += parts
    if not units:  # nothing asks: every sentence may be a request ("I want to book.")
        return sentences[:MAX_UNITS], False
    return units[:MAX_UNITS], story


def looks_like_question(text: str) -> bool:
    """Whether any sentence of ``text`` asks something (a "?" or a question word first)."""
    return any(is_question(s) for s in sentences_of(text))
