"""Is a message written in a language other than English, and which one?

Only asked about messages the engine could not answer, so an English question with typos
or slang is never turned away. A script other than Latin tells the language at once
(Cyrillic: Russian or Ukrainian, told apart by lingua). Latin-script text goes to
lingua-language-detector (its models ship inside the package; low-accuracy mode keeps them
to about 20 MB, each language's loaded on first need) only when it has at least two words
and most of them are neither English nor the content's own, and only a confident verdict
counts.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter
from collections.abc import Collection
from typing import Any

from bot.content.phrasing import basic_tokens
from bot.nlu.language import english_word_ranks

# The languages told apart in Latin and Cyrillic script (English among them, so English
# wins when it is English after all).
_CANDIDATES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "tr", "ru", "uk")
MIN_CONFIDENCE = 0.9
# A Latin-script message is only a candidate when fewer than this share of its words are
# English (or the content's own words: "botox", "qi"), and it has at least MIN_WORDS words
# (one unknown word is more often a typo or gibberish than a language).
MAX_ENGLISH_SHARE = 0.5
MIN_WORDS = 2
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
    """Guesses the language of unmatched messages; lingua loads on first need."""

    def __init__(self, known_words: Collection[str]) -> None:
        self._known = known_words
        self._english = english_word_ranks()
        self._detector: Any = None
        self._lock = threading.Lock()

    def foreign_language(self, text: str) -> str | None:
        """An ISO 639-1 code when ``text`` is confidently not English, else None."""
        letters = [ch for ch in text if ch.isalpha()]
        if not letters:
            return None
        scripts = Counter(_script(ch) for ch in letters)
        script, count = scripts.most_common(1)[0]
        if count < len(letters) / 2:
            return None  # mixed scripts: no confident guess
        if scripts["HIRAGANA"] + scripts["KATAKANA"]:
            return "ja"  # kana appear only in Japanese, even among Chinese characters
        if script in _SCRIPT_LANGUAGE:
            return _SCRIPT_LANGUAGE[script]
        if script == "CYRILLIC":
            return self._detect(text, ("ru", "uk")) or "ru"
        if script != "LATIN":
            return None
        words = basic_tokens(text)
        english = sum(1 for w in words if w in self._english or w in self._known)
        if len(words) < MIN_WORDS or english / len(words) >= MAX_ENGLISH_SHARE:
            return None
        language = self._detect(text, _CANDIDATES)
        return language if language != "en" else None

    def _detect(self, text: str, allowed: tuple[str, ...]) -> str | None:
        detector = self._detector or self._load()
        best = detector.compute_language_confidence_values(text)[0]
        code = best.language.iso_code_639_1.name.lower()
        return code if code in allowed and best.value >= MIN_CONFIDENCE else None

    def _load(self) -> Any:
        with self._lock:  # built once, even when two threads ask at once
            if self._detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                languages = [
                    Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                    for code in _CANDIDATES
                ]
                self._detector = (
                    LanguageDetectorBuilder.from_languages(*languages)
                    .with_low_accuracy_mode()
                    .build()
                )
        return self._detector


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return "UNKNOWN"
