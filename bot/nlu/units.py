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
    r"should|may|might|have|has|any|whats"
)
_QUESTION_START = re.compile(rf"^\W*({_QUESTION_WORDS})\b", re.IGNORECASE)
# "..., and does it hurt", "...; what about", "... also how long": a second question starts.
_SECOND_QUESTION = re.compile(
    rf"\s*(?:[,;]\s*(?:and|also|plus)?|\s(?:and|also|plus))\s+(?=(?:{_QUESTION_WORDS})\b)",
    re.IGNORECASE,
)
MAX_UNITS = 12  # a very long message: its first questions are enough


def is_question(sentence: str) -> bool:
    """A "?" at the end, or a question word first."""
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(sentence))


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def question_units(text: str) -> list[str]:
    """Parts of ``text`` to classify separately; fewer than two means "just the whole"."""
    sentences = sentences_of(text)
    asking = [is_question(s) for s in sentences]
    story = any(asking) and not all(asking)
    units: list[str] = []
    for number, sentence in enumerate(sentences):
        if story and not asking[number]:
            continue
        if story and number > 0:
            # The question's "it" usually lives in the sentence before it.
            units.append(f"{sentences[number - 1]} {sentence}")
            continue
        units += [part for part in _SECOND_QUESTION.split(sentence) if part.strip()]
    return units[:MAX_UNITS]
