"""CLINC150 as a clinic would use the bot: a content folder built from the public benchmark.

``python -m bench.clinc150 DIR`` writes, from ``../shared/benchmarks/clinc150/train_val.json``
(Larson et al., EMNLP 2019; the train and validation splits):

* ``DIR/intents/clinc150.yaml``: the 150 intents with their 100 training examples each, and
  the 100 out-of-scope training queries as ``out_of_scope`` examples;
* ``DIR/responses/``: a one-line answer per intent, and the shipped messages and menus;
* ``DIR/clinic.yaml``: the shipped settings, with no threshold overrides;
* ``DIR/val.yaml``: the validation split (3,000 in scope + 100 out of scope) as an
  evaluation set.

Then ``python -m bot eval DIR/val.yaml --content DIR`` evaluates the matcher exactly as it
runs for a clinic, with thresholds calibrated from this content. No code in ``bot/`` knows
about CLINC150.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import yaml

from bench.common import PROJECT_ROOT
from bot.content.phrasing import basic_tokens

DATA = PROJECT_ROOT.parent / "shared" / "benchmarks" / "clinc150" / "train_val.json"
OUT_OF_SCOPE_LABEL = "oos"


def build(target: Path, data_file: Path = DATA) -> Path:
    """Write the content folder and the evaluation set; return the evaluation set's path."""
    data = json.loads(data_file.read_text(encoding="utf-8"))
    # The training split repeats a few phrasings within an intent; the loader (rightly)
    # rejects an example listed twice, so each is kept once, as a clinic would.
    examples: dict[str, dict[str, str]] = defaultdict(dict)
    for text, label in data["train"]:
        examples[label].setdefault(" ".join(basic_tokens(text)), text)
    (target / "intents").mkdir(parents=True, exist_ok=True)
    (target / "responses").mkdir(parents=True, exist_ok=True)
    intents = {
        "intents": [
            {"id": label, "category": label.split("_")[0].title(), "examples": list(texts.values())}
            for label, texts in sorted(examples.items())
        ],
        "out_of_scope": [text for text, _ in data["oos_train"]],
    }
    _dump(target / "intents" / "clinc150.yaml", intents)
    responses = {
        "responses": {
            label: {
                "title": label.replace("_", " ")[:30],
                "answer": f"(the answer about {label.replace('_', ' ')})",
                "follow_ups": [],
            }
            for label in sorted(examples)
        }
    }
    _dump(target / "responses" / "clinc150.yaml", responses)
    shipped = yaml.safe_load((PROJECT_ROOT / "responses" / "messages.yaml").read_text())
    shipped["popular_topics"] = sorted(examples)[:3]
    _dump(target / "responses" / "messages.yaml", shipped)
    settings = yaml.safe_load((PROJECT_ROOT / "clinic.yaml").read_text())
    settings.pop("matching", None)
    _dump(target / "clinic.yaml", settings)
    evaluation = [
        {"text": text, "expect": None if label == OUT_OF_SCOPE_LABEL else label}
        for text, label in (*data["val"], *data["oos_val"])
    ]
    evaluation_file = target / "val.yaml"
    _dump(evaluation_file, evaluation)
    return evaluation_file


def _dump(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clinc150", description=__doc__)
    parser.add_argument("target", type=Path, help="folder to write the content into")
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"CLINC150 data not found at {DATA}", file=sys.stderr)
        return 1
    if args.target.exists():
        shutil.rmtree(args.target)
    print(build(args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
