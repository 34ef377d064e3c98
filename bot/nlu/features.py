"""Sparse TF-IDF features of a question: canonical words and character n-grams.

Two blocks, each L2-normalised on its own (as two scikit-learn ``TfidfVectorizer``s side
by side would be):

* **words**: the normaliser's canonical tokens (typos corrected against the content's
  vocabulary, plurals folded, synonyms replaced), as unigrams and bigrams;
* **characters**: 2- to 5-grams inside each word as typed ("char_wb"), which carry what the
  word level misses: spelling variants, word stems, typos too far off to correct.

The same code builds the training matrix and the features of a single question at run
time, so training and prediction cannot drift apart; prediction needs no scikit-learn.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bot.text_normalizer import basic_tokens

CHAR_NGRAMS = (2, 5)
_WORD_BLOCK = 0
_CHAR_BLOCK = 1

Tokenizer = Callable[[str], list[str]]


def raw_features(text: str, canonical: Sequence[str]) -> tuple[list[str], list[str]]:
    """Word-block and character-block feature strings of one text (repeats kept)."""
    words = [f"w {token}" for token in canonical]
    words += [f"b {a} {b}" for a, b in itertools.pairwise(canonical)]
    low, high = CHAR_NGRAMS
    chars = []
    for token in basic_tokens(text):
        padded = f" {token} "
        for size in range(low, min(high, len(padded)) + 1):
            chars += [padded[i : i + size] for i in range(len(padded) - size + 1)]
    return words, chars


@dataclass(frozen=True)
class FeatureSpace:
    """Feature string -> column, with inverse document frequencies; fitted once on examples."""

    columns: dict[str, int]
    idf: NDArray[np.float32]
    is_char: NDArray[np.bool_]

    @classmethod
    def fit(cls, documents: Iterable[tuple[list[str], list[str]]]) -> FeatureSpace:
        """Vocabulary and smoothed idf (``ln((1 + n) / (1 + df)) + 1``, as scikit-learn)."""
        frequency: Counter[tuple[int, str]] = Counter()
        count = 0
        for words, chars in documents:
            count += 1
            frequency.update((_WORD_BLOCK, f) for f in set(words))
            frequency.update((_CHAR_BLOCK, f) for f in set(chars))
        keys = sorted(frequency)
        columns = {feature: i for i, (_, feature) in enumerate(keys)}
        idf = np.array(
            [math.log((1 + count) / (1 + frequency[key])) + 1.0 for key in keys], np.float32
        )
        is_char = np.array([block == _CHAR_BLOCK for block, _ in keys], np.bool_)
        return cls(columns, idf, is_char)

    @property
    def size(self) -> int:
        return len(self.columns)

    def vector(
        self, words: list[str], chars: list[str]
    ) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        """Column indices and TF-IDF values (sublinear tf, each block of unit length)."""
        parts = []
        for features in (words, chars):
            counts = Counter(f for f in features if f in self.columns)
            if not counts:
                continue
            index = np.fromiter((self.columns[f] for f in counts), np.intp, len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), np.float32, len(counts)))
            values = (tf * self.idf[index]).astype(np.float32)
            values /= np.float32(np.linalg.norm(values)) or np.float32(1.0)
            parts.append((index, values))
        if not parts:
            return np.empty(0, np.intp), np.empty(0, np.float32)
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )
