"""A linear intent model trained from the content's own examples.

One class per intent, plus the out-of-scope and not-offered pseudo-intents when the content
has examples of them. Training uses scikit-learn (a linear support vector machine, one
weight vector per class, over the features of ``bot.nlu.features``); the trained weights
are kept as plain NumPy arrays, so predicting (and loading a cached model) needs NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.nlu.features import FeatureSpace

# Regularisation of the SVM: scikit-learn's default, which keeps the model general. It is
# deliberately not tuned on any one content: the matcher must work for any clinic's.
SVM_C = 1.0
# The solver's stopping tolerance: 1e-2 instead of scikit-learn's 1e-4 gives the same
# rankings on every set we measure and trains in four fifths of the time.
SVM_TOL = 1e-2


@dataclass(frozen=True)
class LinearModel:
    """Class labels, the feature space and one weight column per class."""

    classes: tuple[str, ...]
    space: FeatureSpace
    weights: NDArray[np.float32]  # features x classes: a question's columns are rows here
    bias: NDArray[np.float32]

    @classmethod
    def fit(cls, space: FeatureSpace, matrix: Any, labels: Sequence[str]) -> LinearModel:
        """Fit the SVM on rows already in ``space`` (a sparse TF-IDF matrix)."""
        classes = tuple(sorted(set(labels)))
        if len(classes) == 1:  # nothing to tell apart: every question is that class
            weights = np.zeros((space.size, 1), np.float32)
            return cls(classes, space, weights, np.ones(1, np.float32))
        from sklearn.svm import LinearSVC  # imported only when training, not when cached

        # A fixed seed for the solver's coordinate order: the same content always trains the
        # same model, so evaluation figures reproduce exactly.
        svm = LinearSVC(C=SVM_C, tol=SVM_TOL, random_state=0)
        svm.fit(matrix, np.asarray(labels))
        coef = np.asarray(svm.coef_, np.float32)
        bias = np.asarray(svm.intercept_, np.float32)
        if len(classes) == 2:  # scikit-learn keeps one vector for two classes
            coef = np.vstack([-coef, coef])
            bias = np.concatenate([-bias, bias])
        return cls(classes, space, np.ascontiguousarray(coef.T), bias)

    def matrix_scores(self, matrix: Any) -> NDArray[np.float32]:
        """Decision scores of many rows already in this model's space (rows x classes)."""
        result: NDArray[np.float32] = np.asarray(matrix @ self.weights + self.bias, np.float32)
        return result

    def scores(self, index: NDArray[np.intp], values: NDArray[np.float32]) -> NDArray[np.float32]:
        """Decision score of every class for one feature vector (higher is more likely)."""
        if not len(index):
            return self.bias.copy()
        result: NDArray[np.float32] = values @ self.weights[index] + self.bias
        return result
