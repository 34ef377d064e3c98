"""What counts as the same phrasing: text folded to plain lower-case word tokens.

The content's checks use it to find an example listed twice (or under two intents), and the
matcher reads every question through it first, so both agree on what a word is.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")


def basic_tokens(text: str) -> list[str]:
    """Lowercase ASCII word tokens; accents folded, apostrophes joined ("don't" -> "dont")."""
    folded = text.lower()
    if not folded.isascii():  # only non-ASCII text can carry accents to fold
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _APOSTROPHES.sub("", folded)
    return [token for token in _NON_WORD.split(folded) if token]
