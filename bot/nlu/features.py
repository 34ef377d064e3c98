"""Sparse TF-IDF features of a question: canonical words and character n-grams.

Two blocks, each L2-normalised on its own (as two scikit-learn ``TfidfVectorizer``s side
by side would be):

* **words**: the normaliser's canonical tokens (typos corrected against the content's
  vocabulary, plurals folded, synonyms replaced), as unigrams and bigrams;
* **characters**: 3- and 4-grams inside each word as typed ("char_wb"), which carry what the
  word level misses: spelling variants, word stems, typos too far off to correct.

Training counts every example's features once (``CountMatrix``) and derives the TF-IDF
matrix of any subset of them (each cross-validation fold) with sparse arithmetic;
``FeatureSpace.text_vector`` applies the same formula to one question at run time, and a test
holds the two to the same numbers. Prediction needs no scikit-learn.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.content.phrasing import basic_tokens

# 3- and 4-grams: as accurate as 2- to 5-grams on every set we measure (shipped content and
# CLINC150), with 40% fewer features to train on, so a larger content still trains quickly.
CHAR_NGRAMS = (3, 4)

# Distinct words whose character columns are remembered (people reuse their words; typos
# and gibberish are new each time, so the memory is bounded).
_TOKEN_CACHE_LIMIT = 50_000


WORD_PREFIX = "w "  # word-block features: "w qi" (a word), "b what qi" (a pair)


def word_features(canonical: Sequence[str]) -> list[str]:
    """Canonical words and word pairs."""
    pairs = [f"b {a} {b}" for a, b in itertools.pairwise(canonical)]
    return [f"{WORD_PREFIX}{t}" for t in canonical] + pairs


@lru_cache(maxsize=_TOKEN_CACHE_LIMIT)
def char_ngrams(token: str) -> tuple[str, ...]:
    """Character n-grams inside one word, its edges marked by spaces ("char_wb"); each
    word's are computed once (training meets the same words thousands of times)."""
    low, high = CHAR_NGRAMS
    padded = f" {token} "
    return tuple(
        padded[i : i + size]
        for size in range(low, min(high, len(padded)) + 1)
        for i in range(len(padded) - size + 1)
    )


def raw_features(text: str, canonical: Sequence[str]) -> tuple[list[str], list[str]]:
    """Word-block and character-block feature strings of one text (repeats kept)."""
    return word_features(canonical), [g for t in basic_tokens(text) for g in char_ngrams(t)]


@dataclass(frozen=True)
class FeatureSpace:
    """Feature string -> column, with inverse document frequencies; fitted on examples."""

    columns: dict[str, int]
    idf: NDArray[np.float32]
    is_char: NDArray[np.bool_]
    _token_columns: dict[str, NDArray[np.intp]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def size(self) -> int:
        return len(self.columns)

    def text_vector(
        self, text: str, canonical: Sequence[str]
    ) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        """Column indices and TF-IDF values of ``raw_features(text, canonical)`` (sublinear tf,
        each block of unit length); each word's character columns are looked up once and
        remembered."""
        get = self.columns.get
        word_columns = [c for c in map(get, word_features(canonical)) if c is not None]
        parts = [self._columns_of(token) for token in basic_tokens(text)]
        chars = np.concatenate(parts) if parts else np.empty(0, np.intp)
        return self._weigh(np.asarray(word_columns, np.intp), chars)

    def _columns_of(self, token: str) -> NDArray[np.intp]:
        cached = self._token_columns.get(token)
        if cached is None:
            if len(self._token_columns) >= _TOKEN_CACHE_LIMIT:
                self._token_columns.clear()
            get = self.columns.get
            found = [c for c in map(get, char_ngrams(token)) if c is not None]
            cached = self._token_columns[token] = np.asarray(found, np.intp)
        return cached

    def _weigh(self, *blocks: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        indices = []
        values = []
        for columns in blocks:
            if not len(columns):
                continue
            index, counts = np.unique(columns, return_counts=True)
            weights = (1.0 + np.log(counts.astype(np.float32))) * self.idf[index]
            norm = np.float32(np.linalg.norm(weights)) or np.float32(1.0)
            indices.append(index)
            values.append((weights / norm).astype(np.float32))
        if not indices:
            return np.empty(0, np.intp), np.empty(0, np.float32)
        return np.concatenate(indices), np.concatenate(values)


@dataclass(frozen=True)
class CountMatrix:
    """Raw feature counts of the training documents over their whole vocabulary."""

    features: list[str]
    is_char: NDArray[np.bool_]
    counts: Any  # scipy.sparse.csr_matrix, documents x features

    @classmethod
    def build(cls, documents: Sequence[tuple[list[str], list[str]]]) -> CountMatrix:
        """Count every document's features once."""
        from scipy.sparse import csr_matrix

        # A word feature ("w qi", "b what qi") has a space inside; a character n-gram has
        # spaces only at its ends, so one dictionary holds both blocks without clashes.
        # Every occurrence becomes an entry and scipy sums repeats: a fraction of the time
        # of counting each document in Python, with the same matrix.
        column: dict[str, int] = {}
        is_char: list[bool] = []
        indices: list[int] = []
        indptr = [0]
        for words, chars in documents:
            for char_block, features in ((False, words), (True, chars)):
                known = len(column)
                # len(column) is read before setdefault inserts: a new feature gets the next
                # column, a known one keeps its own.
                indices.extend([column.setdefault(f, len(column)) for f in features])
                is_char.extend([char_block] * (len(column) - known))
            indptr.append(len(indices))
        matrix = csr_matrix(
            (
                np.ones(len(indices), np.float32),
                np.asarray(indices, np.int32),
                np.asarray(indptr),
            ),
            shape=(len(documents), len(column)),
        )
        matrix.sum_duplicates()
        matrix.sort_indices()
        return cls(list(column), np.asarray(is_char, np.bool_), matrix)

    def tfidf(self, fit_rows: NDArray[np.intp] | None = None) -> tuple[FeatureSpace, Any]:
        """The feature space of ``fit_rows`` (all rows when None) and every row's TF-IDF
        vector in it: features none of those rows has are dropped, as for a new question.

        idf is scikit-learn's smoothed ``ln((1 + n) / (1 + df)) + 1``; tf is ``1 + ln(count)``.
        """
        from scipy.sparse import diags

        fitted = self.counts if fit_rows is None else self.counts[fit_rows]
        frequency = np.bincount(fitted.indices, minlength=self.counts.shape[1])
        keep = np.flatnonzero(frequency > 0)
        idf = (np.log((1.0 + fitted.shape[0]) / (1.0 + frequency[keep])) + 1.0).astype(np.float32)
        matrix = self.counts[:, keep].tocsr()
        matrix.data = (1.0 + np.log(matrix.data)).astype(np.float32)
        matrix = (matrix @ diags(idf)).tocsr()
        is_char = self.is_char[keep]
        squared = matrix.multiply(matrix).tocsr()
        char_norm = np.sqrt(squared @ is_char.astype(np.float32))
        word_norm = np.sqrt(squared @ (~is_char).astype(np.float32))
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        norms = np.where(is_char[matrix.indices], char_norm[rows], word_norm[rows])
        matrix.data = (matrix.data / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        columns = {self.features[k]: i for i, k in enumerate(keep)}
        return FeatureSpace(columns, idf, is_char), matrix
