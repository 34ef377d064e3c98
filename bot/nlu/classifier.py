"""The intent classifier: normaliser + linear model + calibration, trained from the content.

``IntentClassifier.build`` trains on the content's examples (and its out-of-scope and
not-offered examples) and calibrates by cross-validation, or loads the result from the
model cache when the same content was trained before (keyed by a hash of everything that
shapes the model). ``rank`` gives every class a 0-100 confidence: the calibrated chance that
answering with it is right.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.content.knowledge import Knowledge
from bot.nlu.calibration import (
    DEFAULT_FOLDS,
    Calibration,
    Signals,
    calibrate,
    cross_validate,
    unknown_share,
)
from bot.nlu.features import CHAR_NGRAMS, CountMatrix, FeatureSpace, raw_features, word_features
from bot.nlu.linear_model import SVM_C, SVM_TOL, LinearModel
from bot.nlu.normalizer import TextNormalizer

OUT_OF_SCOPE = "out_of_scope"
NOT_OFFERED = "not_offered"
# Bump when features, model or calibration change in a way that makes old caches wrong.
MODEL_FORMAT = 6
CACHE_VARIABLE = "MODEL_CACHE_DIR"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A class the text may belong to: confidence 0-100 and the signals behind it."""

    intent_id: str
    score: float
    signals: Signals | None = None


class IntentClassifier:
    """Classifies normalised text into the content's intents and pseudo-intents."""

    def __init__(
        self, normalizer: TextNormalizer, model: LinearModel, calibration: Calibration
    ) -> None:
        self.normalizer = normalizer
        self.model = model
        self.calibration = calibration
        # A long message is read whole and again as the context of each question in it;
        # people also repeat themselves. The scores are never changed in place.
        self._read = lru_cache(maxsize=256)(self._read_text)

    @classmethod
    def build(
        cls,
        knowledge: Knowledge,
        normalizer: TextNormalizer,
        cache_dir: Path | None = None,
        folds: int = DEFAULT_FOLDS,
    ) -> IntentClassifier:
        """Train (or load from the cache) the classifier of this content."""
        texts, labels = training_data(knowledge)
        directory = cache_dir if cache_dir is not None else default_cache_dir()
        key = cache_key(knowledge, texts, labels, folds)
        cached = _load(directory / f"{key}.npz") if directory else None
        if cached is not None:
            model, calibration = cached
            return cls(normalizer, model, calibration)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            documents = [raw_features(t, normalizer.canonical_tokens(t)) for t in texts]
            counts = CountMatrix.build(documents)
            # The final model trains beside the cross-validation folds (the solver runs
            # outside the GIL, so they share the cores).
            final = pool.submit(lambda: LinearModel.fit(*counts.tfidf(), labels))
            words = [words for words, _ in documents]
            held_out = cross_validate(counts, labels, words, folds, pool=pool)
            model = final.result()
        calibration = calibrate(held_out, frozenset({OUT_OF_SCOPE}))
        if directory:
            _save(directory / f"{key}.npz", model, calibration)
        return cls(normalizer, model, calibration)

    def rank(self, text: str, limit: int = 5, context: str | None = None) -> list[Candidate]:
        """Classes for ``text``, best first, each with its calibrated confidence.

        With ``context`` (the whole message around a question), the scores are the mean of
        the question's and the message's: the question decides, the story says what "it" is.
        """
        scores, unknown = self._read(text)
        if context is not None:
            context_scores, context_unknown = self._read(context)
            scores = (scores + context_scores) / 2.0
            unknown = (unknown + context_unknown) / 2.0
        count = min(limit, len(scores))
        order = np.argsort(-scores, kind="stable")[: count + 1]
        best, runner_up = (
            float(scores[order[0]]),
            (float(scores[order[1]]) if len(order) > 1 else float(scores[order[0]]) - 1.0),
        )
        result = []
        for position, i in enumerate(order[:count]):
            raw = float(scores[i])
            # The winner's lead over the runner-up; every other class trails the winner.
            lead = raw - (runner_up if position == 0 else best)
            signals = Signals(raw, lead, unknown)
            confidence = round(100.0 * self.calibration.confidence(signals), 1)
            result.append(Candidate(self.model.classes[i], confidence, signals))
        return result

    def _read_text(self, text: str) -> tuple[NDArray[np.float32], float]:
        """Every class's decision score for ``text``, and the share of unknown topic words."""
        canonical = self.normalizer.canonical_tokens(text)
        space = self.model.space
        scores = self.model.scores(*space.text_vector(text, canonical))
        return scores, unknown_share(word_features(canonical), space)


def training_data(knowledge: Knowledge) -> tuple[list[str], list[str]]:
    """Example texts and their classes: intents, out of scope, not offered."""
    texts: list[str] = []
    labels: list[str] = []
    for intent in knowledge.intents.values():
        for example in intent.examples:
            texts.append(example.text)
            labels.append(intent.id)
    for label, examples in (
        (OUT_OF_SCOPE, knowledge.out_of_scope),
        (NOT_OFFERED, knowledge.not_offered),
    ):
        texts += [e.text for e in examples]
        labels += [label] * len(examples)
    return texts, labels


def cache_key(knowledge: Knowledge, texts: Sequence[str], labels: Sequence[str], folds: int) -> str:
    """Hash of everything the trained model depends on."""
    digest = hashlib.sha256()
    recipe = [MODEL_FORMAT, list(CHAR_NGRAMS), SVM_C, SVM_TOL, folds, list(texts), list(labels)]
    recipe.append(sorted((k, list(v)) for k, v in knowledge.synonyms.items()))
    digest.update(json.dumps(recipe, ensure_ascii=False).encode())
    return digest.hexdigest()[:32]


def default_cache_dir() -> Path | None:
    """``$MODEL_CACHE_DIR``, else ``~/.cache/clinic-faq-bot``; empty variable: no cache."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    return Path.home() / ".cache" / "clinic-faq-bot"


def _save(path: Path, model: LinearModel, calibration: Calibration) -> None:
    """Write atomically; a cache that cannot be written only costs the next start time."""
    space = model.space
    columns = sorted(space.columns, key=space.columns.__getitem__)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.savez(
                file,
                classes=np.array(model.classes),
                columns=np.array(columns),
                idf=space.idf,
                is_char=space.is_char,
                weights=model.weights,
                bias=model.bias,
                calibration=np.array(
                    [
                        *calibration.weights,
                        calibration.intercept,
                        calibration.answer,
                        calibration.clarify,
                        calibration.held_out,
                    ]
                ),
                notes=np.array(calibration.notes, dtype=str),
            )
        Path(temporary).replace(path)
    except OSError as exc:
        logger.warning("model cache not written (%s): the next start trains again", exc)


def _load(path: Path) -> tuple[LinearModel, Calibration] | None:
    """The cached model, or None when absent or unreadable (then we train)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            columns = {str(c): i for i, c in enumerate(data["columns"])}
            space = FeatureSpace(columns, data["idf"], data["is_char"])
            model = LinearModel(
                tuple(str(c) for c in data["classes"]), space, data["weights"], data["bias"]
            )
            top, lead, unknown, intercept, answer, clarify, held_out = (
                float(v) for v in data["calibration"]
            )
            notes = tuple(str(n) for n in data["notes"])
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("model cache %s unreadable (%s): training again", path.name, exc)
        return None
    weights = (top, lead, unknown)
    return model, Calibration(weights, intercept, answer, clarify, int(held_out), notes)
