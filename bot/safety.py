"""Spot questions that need a practitioner, not an FAQ answer (pregnancy, implants, ...)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.knowledge import SafetyPattern
from bot.text_normalizer import basic_tokens


class SafetyScreen:
    """Matches the content's safety patterns against a question's normalised words."""

    def __init__(self, patterns: Iterable[SafetyPattern]) -> None:
        self._patterns = tuple(re.compile(p.pattern) for p in patterns)

    def flags(self, question: str, corrected_words: Iterable[str] = ()) -> bool:
        """True if the question mentions a safety topic, as typed or after typo correction."""
        as_typed = " ".join(basic_tokens(question))
        corrected = " ".join(corrected_words)
        return any(p.search(as_typed) or p.search(corrected) for p in self._patterns)
