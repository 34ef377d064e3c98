"""Measure how well the engine routes a labelled set of questions (like ``rasa test nlu``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bot.content.knowledge import Knowledge, freeze
from bot.content.yaml_source import read_yaml
from bot.engine import DialogueEngine, Reply
from bot.nlu.calibration import assign_folds
from bot.nlu.classifier import NOT_OFFERED, OUT_OF_SCOPE, training_data


@dataclass(frozen=True)
class EvalItem:
    """A labelled question: ``expect`` is an intent id, "safety", or None for out of scope.

    ``accept``: other labels that also count as right, where two independent annotators
    read the question differently (None among them: not answering is right too).
    """

    text: str
    expect: str | None
    kind: str | None = None
    accept: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class EvalResult:
    text: str
    expect: str | None
    predicted: str | None
    score: float
    decision: str
    kind: str | None = None

    @property
    def correct(self) -> bool:
        return self.predicted == self.expect


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a YAML list of ``{text, expect}`` items; ValueError names the bad item."""
    data, problems = read_yaml(path)
    if problems:
        raise ValueError("; ".join(map(str, problems)))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of {{text, expect}} items")
    items = []
    for position, raw in enumerate(data):
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or "expect" not in raw:
            raise ValueError(f"{path}: item {position + 1} needs 'text' and 'expect'")
        expect = raw["expect"]
        kind = raw.get("kind")
        accept = raw.get("accept") or []
        if not isinstance(accept, list):
            raise ValueError(f"{path}: item {position + 1}: 'accept' must be a list of labels")
        items.append(
            EvalItem(
                raw["text"],
                None if expect is None else str(expect),
                None if kind is None else str(kind),
                tuple(None if a is None else str(a) for a in accept),
            )
        )
    return items


def evaluate(engine: DialogueEngine, items: Sequence[EvalItem]) -> list[EvalResult]:
    """Run every item through the engine."""
    results = []
    for item in items:
        reply = engine.respond(item.text)
        results.append(
            EvalResult(
                item.text,
                item.expect,
                judged(item, reply),
                reply.score,
                reply.kind.value,
                item.kind,
            )
        )
    return results


def cross_validate_content(knowledge: Knowledge, folds: int) -> list[EvalResult]:
    """K-fold cross-validation of the whole engine over the content's own examples.

    Each fold's examples (intents, out of scope, not offered) are taken out of the content,
    an engine is trained and calibrated on the rest, and the held-out examples are asked;
    out-of-scope and not-offered examples are expected not to be answered.
    """
    texts, labels = training_data(knowledge)
    fold_of = assign_folds(labels, folds)
    results: list[EvalResult] = []
    for fold in range(folds):
        held = {i for i, f in enumerate(fold_of) if f == fold}
        if not held:
            continue
        kept_texts = {t for i, t in enumerate(texts) if i not in held}
        engine = DialogueEngine(_without(knowledge, kept_texts))
        items = [
            EvalItem(
                texts[i],
                None if labels[i] in (OUT_OF_SCOPE, NOT_OFFERED) else labels[i],
                f"fold {fold + 1}",
            )
            for i in sorted(held)
        ]
        results += evaluate(engine, items)
    return results


def _without(knowledge: Knowledge, kept: set[str]) -> Knowledge:
    """The knowledge with only the examples in ``kept``."""
    intents = {
        intent_id: replace(intent, examples=tuple(e for e in intent.examples if e.text in kept))
        for intent_id, intent in knowledge.intents.items()
    }
    return replace(
        knowledge,
        intents=freeze(intents),
        out_of_scope=tuple(e for e in knowledge.out_of_scope if e.text in kept),
        not_offered=tuple(e for e in knowledge.not_offered if e.text in kept),
    )


def judged(item: EvalItem, reply: Reply) -> str | None:
    """What the reply counts as for this item: the expected label when any of the reply's
    answers is acceptable (a message asking two things gets both answers; ``accept``),
    else the intent answered first (None when the bot did not answer)."""
    answered = [reply.answered_intent, *reply.also] if reply.answered_intent else [None]
    acceptable = {item.expect, *item.accept}
    return item.expect if acceptable & set(answered) else answered[0]


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarize(results: Sequence[EvalResult]) -> dict[str, Any]:
    """Accuracy overall, in scope, out-of-scope rejection, per intent, per kind, confusions."""
    in_scope = [r for r in results if r.expect is not None]
    out_of_scope = [r for r in results if r.expect is None]
    labels = sorted(
        {r.expect for r in results if r.expect} | {r.predicted for r in results if r.predicted}
    )
    per_intent = {}
    for label in labels:
        true_positive = sum(1 for r in results if r.expect == label and r.predicted == label)
        predicted = sum(1 for r in results if r.predicted == label)
        actual = sum(1 for r in results if r.expect == label)
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {
            "support": actual,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
        }
    kinds: dict[str, list[EvalResult]] = {}
    for r in results:
        if r.kind:
            kinds.setdefault(r.kind, []).append(r)
    confusions = Counter((r.expect, r.predicted) for r in results if not r.correct)
    return {
        "total": len(results),
        "accuracy": _rate(sum(r.correct for r in results), len(results)),
        "in_scope_accuracy": _rate(sum(r.correct for r in in_scope), len(in_scope)),
        "out_of_scope_rejection": _rate(
            sum(r.predicted is None for r in out_of_scope), len(out_of_scope)
        ),
        "per_kind": {
            kind: {"count": len(rs), "accuracy": _rate(sum(r.correct for r in rs), len(rs))}
            for kind, rs in sorted(kinds.items())
        },
        "per_intent": per_intent,
        "confusions": [
            {"expect": expect, "predicted": predicted, "count": count}
            for (expect, predicted), count in confusions.most_common()
        ],
    }


def report_json(results: Sequence[EvalResult]) -> dict[str, Any]:
    """The machine-readable report: summaries plus every item."""
    report = summarize(results)
    report["items"] = [
        {
            k: v
            for k, v in asdict(r).items()
            if k in ("text", "expect", "predicted", "score", "decision")
        }
        for r in results
    ]
    return report


def report_text(results: Sequence[EvalResult], confusions: int = 15) -> str:
    """A human-readable report for the terminal."""
    summary = summarize(results)

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    lines = [
        f"items:                  {summary['total']}",
        f"accuracy:               {pct(summary['accuracy'])}",
        f"in-scope accuracy:      {pct(summary['in_scope_accuracy'])}",
        f"out-of-scope rejection: {pct(summary['out_of_scope_rejection'])}",
    ]
    if summary["per_kind"]:
        lines.append("\nper kind:")
        lines += [
            f"  {kind:<16} {v['count']:>4}  {pct(v['accuracy'])}"
            for kind, v in summary["per_kind"].items()
        ]
    lines.append(f"\n{'intent':<24} {'support':>7} {'prec':>6} {'recall':>6} {'f1':>6}")
    for label, v in summary["per_intent"].items():
        lines.append(
            f"{label:<24} {v['support']:>7} {v['precision']:>6.2f} "
            f"{v['recall']:>6.2f} {v['f1']:>6.2f}"
        )
    if summary["confusions"]:
        lines.append("\nmost frequent confusions (expected -> predicted):")
        for c in summary["confusions"][:confusions]:
            lines.append(
                f"  {c['count']:>3} x {c['expect'] or 'out of scope'}"
                f" -> {c['predicted'] or 'no answer'}"
            )
    return "\n".join(lines)
