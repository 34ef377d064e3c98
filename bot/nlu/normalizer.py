"""Turn free text into canonical topic tokens: the matcher's view of a question.

Steps, in order: lowercase and strip accents, emoji and punctuation; correct typos against
the content's own vocabulary (rapidfuzz; of near-equal candidates the word the content uses
most, and a misspelt word inside the content is read as the word it misspells); fold
plurals; replace synonym variants (including multi-word ones such as "crow's feet") by their
canonical word. Filler words are kept: the matcher gives them a small weight rather than
none, so "how much is it" and "how do I get there" stay different questions.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.content.phrasing import basic_tokens
from bot.nlu.language import SHORTHAND, STOPWORDS, english_word_ranks

_REPEATS = re.compile(r"(.)\1{2,}")
# Minimum rapidfuzz ratio for a typo correction, by token length. Short words are easy to
# confuse ("rain" is one letter from "pain"), so up to four letters only a missing or extra
# letter is corrected, never a swapped one.
_CORRECTION_CUTOFF = {3: 85.0, 4: 85.0, 5: 80.0}
_DEFAULT_CORRECTION_CUTOFF = 82.0
# Words this common in English are taken as meant, not corrected. Rarer "words" in the
# list are often typos themselves ("teh", "lng").
_REAL_WORD_RANK = 15_000
# Candidates within this many ratio points of the best are as close: the word the content
# uses most wins ("prise" is nearer "promise" than "price" by three points).
_NEAR_SCORE = 5.0
# Examples are typed like questions, typos included. A content word that is no English
# word, with a spelling far more common in the content this close to it, is that word
# misspelt ("acupunture" beside "acupuncture"): it is corrected like a typo in a question,
# so the examples and the questions that share the typo both read the right word.
_MISSPELT_CUTOFF = 88.0  # closer than a question's typo must be: "statins" is no "station"
_COMMON_FACTOR = 20
_COMMON_COUNT = 5


@dataclass(frozen=True)
class Reading:
    """One text as the bot reads it, in three stages, each computed once."""

    typed: tuple[str, ...]  # word tokens as typed (basic_tokens)
    corrected: tuple[str, ...]  # typos corrected, shorthand expanded: what safety reads
    canonical: tuple[str, ...]  # plurals folded, synonyms replaced: what the matcher reads


def fold_plural(token: str) -> str:
    """Crude singular form, applied to content and questions alike so both sides agree.

    Filler words are left alone: "does" is not the plural of "doe".
    """
    if len(token) <= 3 or token in STOPWORDS or token.endswith(("ss", "us", "is")):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("s"):
        return token[:-1]
    return token


class TextNormalizer:
    """Canonicalises text with the content's synonyms and vocabulary; built once at load."""

    def __init__(self, synonyms: Mapping[str, Sequence[str]], corpus: Iterable[str]) -> None:
        self._phrases: dict[tuple[str, ...], str] = {}
        for canonical, variants in synonyms.items():
            target = "_".join(self._stem_all(basic_tokens(canonical)))
            for variant in (canonical, *variants):
                key = tuple(self._stem_all(basic_tokens(variant)))
                if key:
                    self._phrases[key] = target
        # Phrase lengths by first word, longest first: most words start no phrase at all.
        lengths: dict[str, set[int]] = defaultdict(set)
        for key in self._phrases:
            lengths[key[0]].add(len(key))
        self._phrase_lengths = {
            word: sorted(sizes, reverse=True) for word, sizes in lengths.items()
        }
        self._counts: Counter[str] = Counter()
        for text in corpus:
            self._counts.update(basic_tokens(text))
        named = {
            w for c, vs in synonyms.items() for phrase in (c, *vs) for w in basic_tokens(phrase)
        }
        vocabulary = set(STOPWORDS) | set(self._counts) | named
        self.vocabulary = frozenset(vocabulary)
        self._english = english_word_ranks()
        # Typos rarely hit the first letter, so candidates share it: "prise" -> "price",
        # never "rise". The cutoffs below also bound the length difference, so candidates
        # are bucketed by first letter and length: each lookup reads a sliver of the words.
        self._choices: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in sorted(vocabulary):
            self._choices[word[0], len(word)].append(word)
        self._misspelt = self._misspelt_content_words(protected=named | set(STOPWORDS))
        # Typo correction is the slow step; people repeat words, so cache per token.
        self.correct = lru_cache(maxsize=50_000)(self._correct)
        self._read = lru_cache(maxsize=1024)(self._read_uncached)

    @staticmethod
    def _stem_all(tokens: Sequence[str]) -> list[str]:
        return [fold_plural(token) for token in tokens]

    def _misspelt_content_words(self, protected: set[str]) -> dict[str, str]:
        """Rare content words that are a common content word misspelt, with that word."""
        found: dict[str, str] = {}
        for word, count in self._counts.items():
            if len(word) < 4 or word in protected or word in self._english or not word.isalpha():
                continue
            least = max(_COMMON_COUNT, _COMMON_FACTOR * count)
            closest = self._closest(word, _MISSPELT_CUTOFF, least)
            # "learner" is not "learn" misspelt, nor "itch" "itchy": one inside the other is
            # another word (or a plural, which folding handles).
            if closest is not None and not (closest in word or word in closest):
                found[word] = closest
        return found

    def _correct(self, token: str) -> str:
        respelt = self._misspelt.get(token)
        if respelt is not None:
            return respelt
        if token in self.vocabulary or token.isdigit():
            return token
        if token in SHORTHAND:
            return SHORTHAND[token]
        if _REPEATS.search(token):
            # "heyyy", "sooo": stretched letters, squeeze to one (or two: "sooo" -> "soo")
            for squeezed in (_REPEATS.sub(r"\1", token), _REPEATS.sub(r"\1\1", token)):
                if squeezed in self.vocabulary:
                    return squeezed
        if len(token) < 3 or self._english.get(token, _REAL_WORD_RANK) < _REAL_WORD_RANK:
            # A real word is not a typo: "sing" must not become "sting", nor "play" "pay".
            return token
        closest = self._closest(token)
        return token if closest is None else self._misspelt.get(closest, closest)

    def _closest(self, token: str, cutoff: float | None = None, least_count: int = 0) -> str | None:
        """The vocabulary word a typo most likely meant (None if none is close enough):
        among those nearly as close as the closest, the one the content uses most. Only
        words the content uses ``least_count`` times or more are considered."""
        if cutoff is None:
            cutoff = _CORRECTION_CUTOFF.get(len(token), _DEFAULT_CORRECTION_CUTOFF)
        # ratio = 200 * common / (len(a) + len(b)) and common <= the shorter length, so
        # only words within these lengths can reach the cutoff.
        length = len(token)
        shortest = math.ceil(length * cutoff / (200 - cutoff))
        longest = math.floor(length * (200 - cutoff) / cutoff)
        choices = [
            w
            for size in range(shortest, longest + 1)
            for w in self._choices.get((token[0], size), ())
            if w != token and self._counts[w] >= least_count
        ]
        close = process.extract(token, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8)
        if not close:
            return None
        best = max(score for _, score, _ in close)
        near = [(self._counts[w], score, w) for w, score, _ in close if score >= best - _NEAR_SCORE]
        return str(max(near)[2])

    def read(self, text: str) -> Reading:
        """``text`` read once for every reader (the matcher, the safety screen); a message
        read again (whole, then as the context of each question in it) costs a lookup."""
        return self._read(text)

    def _read_uncached(self, text: str) -> Reading:
        typed = tuple(basic_tokens(text))
        corrected = tuple(self.correct(token) for token in typed)
        folded = [fold_plural(word) for token in corrected for word in token.split()]
        return Reading(typed, corrected, tuple(self._replace_phrases(folded)))

    def canonical_tokens(self, text: str) -> list[str]:
        """All tokens after typo correction, plural folding and synonym replacement."""
        return list(self.read(text).canonical)

    def _replace_phrases(self, tokens: list[str]) -> list[str]:
        result: list[str] = []
        i = 0
        while i < len(tokens):
            for size in self._phrase_lengths.get(tokens[i], ()):
                canonical = self._phrases.get(tuple(tokens[i : i + size]))
                if canonical is not None:
                    result.append(canonical)
                    i += size
                    break
            else:
                result.append(tokens[i])
                i += 1
        return result

    def corrected_words(self, text: str) -> list[str]:
        """Words as typed, typos corrected, before synonyms: what safety patterns read."""
        return list(self.read(text).corrected)
