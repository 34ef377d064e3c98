"""Is a message written in a language other than English, and which one?

Only asked about messages the engine could not match, so an English question with typos
or slang is never turned away. Scripts other than Latin tell the language family at once;
Latin-script text is given to py3langid (a maintained langid.py, its model shipped in the
package) only when most of its words are not English, and only a confident verdict counts.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter
from collections.abc import Collection
from typing import Any

from bot.language import english_word_ranks
from bot.text_normalizer import basic_tokens

# Languages the content may have a translated "I answer in English" line for.
SUPPORTED = (
    "es", "fr", "de", "it", "pt", "nl", "pl", "tr", "ru", "uk", "ar", "zh", "ja", "ko", "hi",
)  # fmt: skip
_LATIN_CANDIDATES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "tr")
_CYRILLIC_CANDIDATES = ("ru", "uk")
MIN_CONFIDENCE = 0.9
# A Latin-script message is only a candidate when fewer than this share of its words are
# English (or the content's own words: "botox", "qi").
MAX_ENGLISH_SHARE = 0.5
MIN_LETTERS = 4
_SCRIPT_LANGUAGE = {
    "ARABIC": "ar",
    "DEVANAGARI": "hi",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
    "HEBREW": "he",
    "GREEK": "el",
    "THAI": "th",
}


class LanguageGuesser:
    """Guesses the language of unmatched messages; the langid model loads on first need."""

    def __init__(self, known_words: Collection[str]) -> None:
        self._known = known_words
        self._english = english_word_ranks()
        self._identifier: Any = None
        self._lock = threading.Lock()

    def foreign_language(self, text: str) -> str | None:
        """An ISO 639-1 code when ``text`` is confidently not English, else None."""
        letters = [ch for ch in text if ch.isalpha()]
        if not letters:
            return None
        scripts = Counter(_script(ch) for ch in letters)
        script, count = scripts.most_common(1)[0]
        if count < len(letters) / 2 or (script == "LATIN" and len(letters) < MIN_LETTERS):
            return None  # mixed scripts: no confident guess
        if script == "HIRAGANA" or scripts["KATAKANA"] + scripts["HIRAGANA"] > 0:
            return "ja" if script in ("CJK", "HIRAGANA", "KATAKANA") else None
        if script in _SCRIPT_LANGUAGE:
            return _SCRIPT_LANGUAGE[script]
        if script == "CYRILLIC":
            return self._identify(text, _CYRILLIC_CANDIDATES) or "ru"
        if script != "LATIN":
            return None
        words = basic_tokens(text)
        english = sum(1 for w in words if w in self._english or w in self._known)
        if not words or english / len(words) >= MAX_ENGLISH_SHARE:
            return None
        language = self._identify(text, _LATIN_CANDIDATES)
        return language if language != "en" else None

    def _identify(self, text: str, candidates: tuple[str, ...]) -> str | None:
        with self._lock:  # loaded once, on first need (about half a second)
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                # Narrowed once to the languages we tell apart (narrowing costs milliseconds).
                identifier.set_languages([*_LATIN_CANDIDATES, *_CYRILLIC_CANDIDATES])
                self._identifier = identifier
        language, probability = self._identifier.classify(text)
        if language not in candidates or probability < MIN_CONFIDENCE:
            return None
        return str(language)


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return "UNKNOWN"
