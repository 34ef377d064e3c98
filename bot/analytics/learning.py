"""The clinic teaches its bot: unanswered phrasings an admin assigns to a topic, or to "not
ours", become examples the matcher learns from, as if they were in the content files.

They are kept in the database (``EventStore.add_learned``), validated like any example (a
real topic, not a safety question, not already taught as something else) and merged into the
content's knowledge each time the matcher trains (``with_lessons``).
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.analytics.records import Learned
from bot.analytics.store import EventStore
from bot.content.knowledge import Example, Knowledge, freeze
from bot.content.loader import check_content
from bot.content.phrasing import basic_tokens
from bot.content.problems import SourceRef
from bot.engine import DialogueEngine
from bot.nlu.classifier import OUT_OF_SCOPE

LEARNED_SOURCE = Path("learned")  # where a taught example "was written", for messages


def lesson_key(text: str) -> str:
    """A phrasing's words, as phrasings are compared: "Is it SAFE?" and "is it safe" are one
    lesson, and one example."""
    return " ".join(basic_tokens(text))


def lesson_problem(engine: DialogueEngine, text: str, intent_id: str) -> str | None:
    """Why ``text`` cannot be taught as ``intent_id``; None when it can."""
    knowledge = engine.knowledge
    if intent_id != OUT_OF_SCOPE and intent_id not in knowledge.intents:
        return f"there is no topic {intent_id!r}"
    key = lesson_key(text)
    if not key:
        return "it has no words"
    if engine.is_safety_question(text):
        # The safety screen answers these (see a practitioner): a topic must never.
        return "it is a safety question"
    owner = _owners(knowledge).get(key)
    if owner == intent_id:
        return "it is already known"
    if owner is not None:
        return f"it is already an example of {owner!r}"
    return None


@dataclass(frozen=True)
class Teaching:
    """What became of a group's phrasings when an admin taught them."""

    taught: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]  # (phrasing, why it was not taught)

    def reasons(self) -> str:
        """The refused phrasings and why, in one line: '"x" (it is a safety question); …'."""
        return "; ".join(f'"{text}" ({why})' for text, why in self.refused)


def taught_as(knowledge: Knowledge, intent_id: str) -> str:
    """What a phrasing was taught as, in words: a topic's title, or "not ours"."""
    if intent_id == OUT_OF_SCOPE:
        return "not ours"
    return knowledge.title(intent_id) if intent_id in knowledge.responses else intent_id


def teach(
    engine: DialogueEngine,
    store: EventStore,
    texts: Sequence[str],
    intent_id: str,
    user_id: int | None = None,
) -> Teaching:
    """Keep each phrasing that can be taught as ``intent_id`` (a topic, or OUT_OF_SCOPE for
    "not ours"); the matcher learns them when it next trains (``with_lessons``).

    Runs in the database thread. Two admins teaching one group at once, or a double tap,
    keep each phrasing once: the second finds it taught (the store's key is unique).
    """
    taught, refused = [], []
    for text in texts:
        problem = lesson_problem(engine, text, intent_id)
        if problem is None:
            earlier, added = store.add_learned(text, intent_id, lesson_key(text), user_id)
            if not added:
                problem = "it was taught already" + (
                    "" if earlier.intent_id == intent_id else f" as {earlier.intent_id!r}"
                )
        if problem is None:
            taught.append(text)
        else:
            refused.append((text, problem))
    return Teaching(tuple(taught), tuple(refused))


def with_lessons(knowledge: Knowledge, lessons: Iterable[Learned]) -> Knowledge:
    """``knowledge`` with each valid lesson added as an example of its class (the oldest
    lesson wins when two disagree, so undoing the newer one restores the older)."""
    owners = _owners(knowledge)
    added: dict[str, list[Example]] = {}
    for lesson in sorted(lessons, key=lambda learned: learned.id):
        key = lesson_key(lesson.text)
        known = lesson.intent_id == OUT_OF_SCOPE or lesson.intent_id in knowledge.intents
        if not key or key in owners or not known:
            continue
        owners[key] = lesson.intent_id
        example = Example(lesson.text, SourceRef(LEARNED_SOURCE, lesson.id))
        added.setdefault(lesson.intent_id, []).append(example)
    if not added:
        return knowledge
    intents = {
        intent_id: replace(intent, examples=intent.examples + tuple(added.get(intent_id, ())))
        for intent_id, intent in knowledge.intents.items()
    }
    return replace(
        knowledge,
        intents=freeze(intents),
        out_of_scope=knowledge.out_of_scope + tuple(added.get(OUT_OF_SCOPE, ())),
    )


def _owners(knowledge: Knowledge) -> dict[str, str]:
    """Each known phrasing (as word tokens) -> the class it is an example of."""
    owners = {
        lesson_key(example.text): intent_id
        for intent_id, intent in knowledge.intents.items()
        for example in intent.examples
    }
    for example in (*knowledge.out_of_scope, *knowledge.not_offered):
        owners.setdefault(lesson_key(example.text), OUT_OF_SCOPE)
    return owners


class ExportError(RuntimeError):
    """The taught phrasings could not be written into the content files (nothing was lost)."""


def export_lessons(
    knowledge: Knowledge, lessons: Iterable[Learned], content_dir: Path, allow_uncommitted: bool
) -> list[int]:
    """Write each lesson into the content file of its intent (``out_of_scope`` lessons into the
    file holding the out-of-scope list), as the last example there, keeping the files'
    comments, order and formatting (ruamel.yaml round trip); return the ids written.

    Lessons that the content already has (or that no longer fit it) are returned too: they
    need not stay in the database. ExportError says why nothing was written: a file that
    cannot be read or written, a file with edits not committed to git (unless
    ``allow_uncommitted``; the export should be a change of its own, which the clinic can
    review or revert), or content that would no longer validate (the files are put back).
    """
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: comments, order and quoting stay as the clinic wrote them
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    owners = _owners(knowledge)
    documents: dict[Path, Any] = {}
    originals: dict[Path, str] = {}
    written: list[int] = []
    for lesson in sorted(lessons, key=lambda learned: learned.id):
        key = lesson_key(lesson.text)
        target = _file_of(knowledge, lesson.intent_id)
        if key in owners or target is None:
            written.append(lesson.id)  # nothing to add: it is known, or its topic is gone
            continue
        if target not in documents:
            try:
                originals[target] = target.read_text(encoding="utf-8")
                documents[target] = yaml.load(originals[target])
            except (OSError, ValueError) as exc:
                raise ExportError(f"{target}: cannot read it ({exc})") from exc
        _examples_of(documents[target], lesson.intent_id).append(lesson.text)
        owners[key] = lesson.intent_id
        written.append(lesson.id)
    for path in documents:
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise ExportError(f"{path}: not writable, so nothing was exported")
    edited = [] if allow_uncommitted else uncommitted_edits(list(documents))
    if edited:
        raise ExportError(
            f"{edited[0]} has edits not committed to git; commit or stash them first, so "
            "the export is a change of its own (or pass --allow-uncommitted)"
        )
    for path, document in documents.items():
        dumped = io.StringIO()
        yaml.dump(document, dumped)
        _replace_file(path, dumped.getvalue())
    checked, problems = check_content(content_dir)
    if checked is None:
        for path, text in originals.items():
            _replace_file(path, text)
        raise ExportError(
            f"the content would not validate ({problems[0]}); the files were put back"
        )
    return written


def uncommitted_edits(paths: Sequence[Path]) -> list[Path]:
    """Those of ``paths`` that git tracks with edits not committed (staged or not); none when
    git or a repository is missing (there is no history to keep the export apart in)."""
    edited = []
    for path in paths:
        try:
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "--", path.name],
                cwd=path.parent,
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        if status.returncode == 0 and status.stdout.strip():
            edited.append(path)
    return edited


def _replace_file(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: into a temporary file beside it, then renamed."""
    temporary = path.with_name(f".{path.name}.export")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _file_of(knowledge: Knowledge, intent_id: str) -> Path | None:
    if intent_id == OUT_OF_SCOPE:
        sources = [e.source.file for e in knowledge.out_of_scope if e.source.file.is_file()]
        return sources[0] if sources else None
    intent = knowledge.intents.get(intent_id)
    return intent.source.file if intent is not None and intent.source.file.is_file() else None


def _examples_of(document: Any, intent_id: str) -> Any:
    if intent_id == OUT_OF_SCOPE:
        return document["out_of_scope"]
    for intent in document["intents"]:
        if intent.get("id") == intent_id:
            return intent["examples"]
    raise ExportError(f"intent {intent_id!r} is not in its file any more: run validate")
