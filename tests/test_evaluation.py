"""The evaluation sets through the evaluator: accuracy targets and the report's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import DialogueEngine
from bot.evaluation import evaluate, load_eval_set, report_json, summarize

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def eval_summary(engine: DialogueEngine) -> dict[str, object]:
    return summarize(evaluate(engine, load_eval_set(DATA / "eval_set.yaml")))


def test_eval_set_meets_in_scope_target(eval_summary: dict[str, float]) -> None:
    assert eval_summary["in_scope_accuracy"] >= IN_SCOPE_TARGET


def test_eval_set_meets_out_of_scope_target(eval_summary: dict[str, float]) -> None:
    assert eval_summary["out_of_scope_rejection"] >= OUT_OF_SCOPE_TARGET


def test_holdout_set_generalises(engine: DialogueEngine) -> None:
    """Phrasings never used for tuning: a floor that catches a matcher that only memorises."""
    summary = summarize(evaluate(engine, load_eval_set(DATA / "holdout_set.yaml")))
    assert summary["in_scope_accuracy"] >= HOLDOUT_IN_SCOPE_FLOOR
    assert summary["out_of_scope_rejection"] >= HOLDOUT_OUT_OF_SCOPE_FLOOR


def test_report_shape(engine: DialogueEngine, tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(
        "- {text: does it hurt, expect: does_it_hurt, kind: paraphrase}\n"
        "- {text: bitcoin price, expect: null, kind: oos}\n"
        "- {text: what does it cost, expect: pricing}\n"
    )
    report = report_json(evaluate(engine, load_eval_set(path)))
    assert report["total"] == 3
    assert report["out_of_scope_rejection"] == 1.0
    assert set(report["per_kind"]) == {"paraphrase", "oos"}
    assert report["per_intent"]["does_it_hurt"] == {
        "support": 1,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    first = report["items"][0]
    assert first == {
        "text": "does it hurt",
        "expect": "does_it_hurt",
        "predicted": "does_it_hurt",
        "score": first["score"],
        "decision": "answer",
    }
    assert report["items"][1]["predicted"] is None


def test_bad_eval_file_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- {text: hello}\n")
    with pytest.raises(ValueError, match="item 1 needs 'text' and 'expect'"):
        load_eval_set(path)


IN_SCOPE_TARGET = 0.95
OUT_OF_SCOPE_TARGET = 0.95
HOLDOUT_IN_SCOPE_FLOOR = 0.87
HOLDOUT_OUT_OF_SCOPE_FLOOR = 0.9
