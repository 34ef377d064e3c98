"""Turn free text into canonical topic tokens: the matcher's view of a question.

Steps, in order: lowercase and strip accents, emoji and punctuation; correct typos against
the content's own vocabulary (rapidfuzz: the fewest edits, a swap of neighbouring letters or
a wrong first letter included; of words as near, the one the content uses most; a misspelt
word inside the content is read as the word it misspells); fold
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
from rapidfuzz.distance import OSA, Indel

from bot.content.knowledge import Knowledge
from bot.content.phrasing import basic_tokens
from bot.nlu.language import SHORTHAND, SHORTHAND_OR_WORD, STOPWORDS, english_word_ranks

_REPEATS = re.compile(r"(.)\1{2,}")
# Minimum rapidfuzz ratio for a typo correction, by token length. Short words are easy to
# confuse ("rain" is one letter from "pain"), so up to four letters only a missing or extra
# letter (or two neighbours swapped) is corrected, never a changed one.
_CORRECTION_CUTOFF = {3: 85.0, 4: 85.0, 5: 80.0}
_DEFAULT_CORRECTION_CUTOFF = 82.0
# Words this common in English are taken as meant, not corrected. Rarer "words" in the
# list are often typos themselves ("teh", "lng").
_REAL_WORD_RANK = 15_000
# fuzz.ratio misses a swap of two neighbouring letters in a short word (it counts two edits):
# swaps are looked for apart, from this length ("seh" may be "she" or "sesh").
_SWAP_MIN_LENGTH = 4
# A typo in the first letter is looked for only in words this long that are no English word
# ("tesults" is "results", but "lain" may be anything); such a candidate competes with the
# others on edits (``_distance``) and loses a tie.
_FIRST_LETTER_MIN_LENGTH = 5
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
        # Content words by all but their first letter, for first-letter typos.
        self._after_first: dict[str, list[str]] = defaultdict(list)
        for word in self._counts:
            self._after_first[word[1:]].append(word)
        # Typo correction is the slow step; people repeat words, so cache per token.
        self.correct = lru_cache(maxsize=50_000)(self._correct)
        self._read = lru_cache(maxsize=1024)(self._read_uncached)

    @classmethod
    def for_content(cls, knowledge: Knowledge) -> TextNormalizer:
        """The normaliser of a content: its synonyms, and every example as its vocabulary."""
        corpus = [e.text for i in knowledge.intents.values() for e in i.examples]
        corpus += [e.text for e in (*knowledge.out_of_scope, *knowledge.not_offered)]
        return cls(knowledge.synonyms, corpus)

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
        if token in SHORTHAND:
            return SHORTHAND[token]
        if token in self.vocabulary or token.isdigit():
            return token
        if token in SHORTHAND_OR_WORD:
            return SHORTHAND_OR_WORD[token]
        if _REPEATS.search(token):
            # "heyyy", "sooo": stretched letters, squeeze to one (or two: "sooo" -> "soo")
            for squeezed in (_REPEATS.sub(r"\1", token), _REPEATS.sub(r"\1\1", token)):
                if squeezed in self.vocabulary:
                    return squeezed
        if len(token) < 3 or self._english.get(token, _REAL_WORD_RANK) < _REAL_WORD_RANK:
            # A real word is not a typo: "sing" must not become "sting", nor "play" "pay".
            return token
        closest = self._closest(token, typed=True)
        return token if closest is None else self._misspelt.get(closest, closest)

    def _closest(
        self, token: str, cutoff: float | None = None, least_count: int = 0, typed: bool = False
    ) -> str | None:
        """The vocabulary word a typo most likely meant (None if none is close enough):
        of the candidates, the fewest edits away, then the one the content uses most. Only
        words the content uses ``least_count`` times or more are considered; a ``typed``
        word (a question's, not the content's own) may also have its first letter wrong."""
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
            if w != token and (not least_count or self._counts[w] >= least_count)
        ]
        found = process.extract(token, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8)
        close = {w for w, _, _ in found}
        if length >= _SWAP_MIN_LENGTH:
            # Each swap of neighbours after the first letter, looked up (a swap with the first
            # letter is a first-letter typo).
            swaps = (
                token[:i] + token[i + 1] + token[i] + token[i + 2 :] for i in range(1, length - 1)
            )
            close.update(w for w in swaps if w in self.vocabulary)
        if typed:
            close.update(self._first_letter_variants(token))
        close = {w for w in close if self._counts[w] >= least_count and w != token}
        if not close:
            return None
        return min(close, key=lambda w: (_distance(token, w), -self._counts[w], w))

    def _first_letter_variants(self, token: str) -> set[str]:
        """Content words that ``token`` is with its first letter wrong, missing or swapped
        with the second. Not with one letter too many in front: "prise" is not "rise"."""
        if len(token) < _FIRST_LETTER_MIN_LENGTH or token in self._english:
            # Any English word, however rare, is taken as meant here: a real word with
            # another first letter is usually another real word ("petal", "metal").
            return set()
        swapped = token[1] + token[0] + token[2:]
        found = {*self._after_first.get(token[1:], ()), *self._after_first.get(token, ())}
        if swapped in self._counts:
            found.add(swapped)
        return found

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


def _swapped(typed: str, word: str) -> bool:
    """True when ``typed`` is ``word`` with two neighbouring letters swapped."""
    if len(typed) != len(word) or typed == word:
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
    first = differ[0]
    return (
        differ == [first, first + 1]
        and typed[first] == word[first + 1]
        and typed[first + 1] == word[first]
    )


def _distance(typed: str, word: str) -> tuple[int, bool, float]:
    """How far ``word`` is from ``typed``, for sorting nearest first.

    First the edits, counted twice over: once with a changed letter as one edit (OSA, where
    a swap of neighbours is one too), once with it as two (letters added or dropped, a swap
    still one), so a dropped or doubled letter is nearer than a changed one. Then whether the
    first letter differs (typos there are rarer). Then the letters added or dropped per
    letter of both words: of two words as many edits away the longer is nearer ("needl" is
    "needle", not "need").
    """
    added_or_dropped = 1 if _swapped(typed, word) else int(Indel.distance(typed, word))
    edits = OSA.distance(typed, word) + added_or_dropped
    return edits, typed[0] != word[0], added_or_dropped / (len(typed) + len(word))
