"""A linear intent model trained from the content's own examples.

One class per intent, plus the out-of-scope and not-offered pseudo-intents when the content
has examples of them. Training uses scikit-learn (a linear support vector machine, one
weight vector per class, over the features of ``bot.nlu.features``); the trained weights
are kept as plain NumPy arrays, so predicting (and loading a cached model) needs NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bot.nlu.features import FeatureSpace

# Regularisation of the SVM: scikit-learn's default, which keeps the model general. It is
# deliberately not tuned on any one content: the matcher must work for any clinic's.
SVM_C = 1.0

Documents = Sequence[tuple[list[str], list[str]]]


@dataclass(frozen=True)
class LinearModel:
    """Class labels, the feature space and one weight column per class."""

    classes: tuple[str, ...]
    space: FeatureSpace
    weights: NDArray[np.float32]  # features x classes: a question's columns are rows here
    bias: NDArray[np.float32]

    @classmethod
    def train(cls, documents: Documents, labels: Sequence[str]) -> LinearModel:
        """Fit the feature space and the SVM on featurised examples."""
        space = FeatureSpace.fit(documents)
        classes = tuple(sorted(set(labels)))
        if len(classes) == 1:  # nothing to tell apart: every question is that class
            weights = np.zeros((space.size, 1), np.float32)
            return cls(classes, space, weights, np.ones(1, np.float32))
        from sklearn.svm import LinearSVC  # imported only when training, not when cached

        matrix = _matrix(space, documents)
        svm = LinearSVC(C=SVM_C)
        svm.fit(matrix, np.asarray(labels))
        coef = np.asarray(svm.coef_, np.float32)
        bias = np.asarray(svm.intercept_, np.float32)
        if len(classes) == 2:  # scikit-learn keeps one vector for two classes
            coef = np.vstack([-coef, coef])
            bias = np.concatenate([-bias, bias])
        return cls(classes, space, np.ascontiguousarray(coef.T), bias)

    def scores(self, words: list[str], chars: list[str]) -> NDArray[np.float32]:
        """Decision score of every class (higher is more likely)."""
        index, values = self.space.vector(words, chars)
        if not len(index):
            return self.bias.copy()
        result: NDArray[np.float32] = values @ self.weights[index] + self.bias
        return result


def _matrix(space: FeatureSpace, documents: Documents) -> object:
    """The documents as a sparse CSR matrix (rows) over the space's columns."""
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[NDArray[np.intp]] = []
    data: list[NDArray[np.float32]] = []
    for words, chars in documents:
        index, values = space.vector(words, chars)
        indices.append(index)
        data.append(values)
        indptr.append(indptr[-1] + len(index))
    return csr_matrix(
        (
            np.concatenate(data) if data else np.empty(0, np.float32),
            np.concatenate(indices) if indices else np.empty(0, np.intp),
            np.asarray(indptr),
        ),
        shape=(len(documents), space.size),
    )
