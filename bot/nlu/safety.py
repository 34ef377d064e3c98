"""Spot questions that need a practitioner, not an FAQ answer (pregnancy, implants, ...)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.content.knowledge import SafetyPattern
from bot.nlu.normalizer import Reading


class SafetyScreen:
    """Matches the content's safety patterns against a question's normalised words."""

    def __init__(self, patterns: Iterable[SafetyPattern]) -> None:
        # One alternation, one scan per text, instead of a scan per pattern: every question
        # passes here. The loader has compiled each pattern on its own already.
        sources = [f"(?:{p.pattern})" for p in patterns]
        self._pattern = re.compile("|".join(sources)) if sources else None

    def flags(self, question: Reading) -> bool:
        """True if the question mentions a safety topic, as typed or after typo correction."""
        if self._pattern is None:
            return False
        as_typed = " ".join(question.typed)
        corrected = " ".join(question.corrected)
        return bool(self._pattern.search(as_typed) or self._pattern.search(corrected))
