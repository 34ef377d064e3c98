"""Reading one content file: each top-level section (``intents:``, ``synonyms:``,
``responses:``, ``messages:``, ...) has a reader that checks its own shape and adds its
pieces to the ``Draft``; what needs several files is left to ``checks``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.content.draft import Collector, Draft
from bot.content.knowledge import (
    Example,
    Intent,
    SafetyPattern,
)
from bot.content.phrasing import basic_tokens
from bot.content.problems import SourceRef
from bot.content.yaml_source import line_of, read_yaml

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")  # Telegram's rule for command names
MAX_INTENT_ID_LENGTH = 50  # leaves room in 64-byte callback data and deep-link payloads
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_INTENT_KEYS = {"id", "examples", "category", "kind"}
RESERVED_IDS = frozenset({"out_of_scope", "not_offered", "safety"})


# In a file that does not parse: "- id: name" (an intent) or "name:" at any indent (a
# response, message, command or section).
_DEFINED_NAME = re.compile(r"^\s*(?:-\s*id:\s*([a-z][a-z0-9_]*)\s*$|([a-z][a-z0-9_]*):)")


def _names_in(path: Path) -> set[str]:
    """Every id or key a file that did not parse seems to define (a generous guess: a
    reference to any of them is not reported while the file is broken)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return {
        name for line in lines if (m := _DEFINED_NAME.match(line)) for name in m.groups() if name
    }


# --- per-file sections ------------------------------------------------------------------

_SectionReader = Callable[[Any, Path, int, Draft, Collector], None]


def read_sections(
    path: Path, readers: Mapping[str, _SectionReader], draft: Draft, report: Collector
) -> None:
    data, problems = read_yaml(path)
    report.problems.extend(problems)
    if problems:
        draft.unreadable.append(path)
        draft.maybe_defined |= _names_in(path)
        return
    if not isinstance(data, dict) or not data:
        expected = " or ".join(f"'{key}:'" for key in readers)
        report.error(f"expected a mapping with {expected}", path, 1)
        return
    for key, value in data.items():
        line = line_of(data, key) or 1
        reader = readers.get(key)
        if reader is None:
            report.error(
                f"unknown section {key!r} (expected one of: {', '.join(readers)})", path, line
            )
        else:
            reader(value, path, line, draft, report)


def _read_intents(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    if not isinstance(value, list):
        report.error("'intents' must be a list", path, line)
        return
    for position, item in enumerate(value):
        item_line = line_of(value, position, line)
        if not isinstance(item, dict):
            report.error("each intent must be a mapping with 'id' and 'examples'", path, item_line)
            continue
        intent_id = item.get("id")
        if not isinstance(intent_id, str) or not _ID.match(intent_id):
            report.error(f"intent id {intent_id!r} must be snake_case text", path, item_line)
            continue
        if len(intent_id) > MAX_INTENT_ID_LENGTH:
            report.error(
                f"intent id is longer than {MAX_INTENT_ID_LENGTH} characters",
                path,
                item_line,
                intent_id,
            )
        if intent_id in RESERVED_IDS:
            report.error(f"intent id {intent_id!r} is reserved", path, item_line, intent_id)
        for key in sorted(set(item) - _INTENT_KEYS):
            report.error(f"unknown key {key!r}", path, line_of(item, key), intent_id)
        if intent_id in draft.intents:
            first = draft.intents[intent_id].source
            report.error(
                f"duplicate intent id (first defined at {first.file}:{first.line})",
                path,
                item_line,
                intent_id,
            )
            continue
        examples = _examples(
            item.get("examples"), path, line_of(item, "examples", item_line), report, intent_id
        )
        category = item.get("category")
        if category is not None and not (isinstance(category, str) and category.strip()):
            report.error("category must be text", path, line_of(item, "category"), intent_id)
            category = None
        kind = item.get("kind", "faq")
        if kind not in ("faq", "smalltalk"):
            report.error(
                f"kind must be 'faq' or 'smalltalk', not {kind!r}",
                path,
                line_of(item, "kind"),
                intent_id,
            )
        draft.intents[intent_id] = Intent(
            id=intent_id,
            examples=examples,
            source=SourceRef(path, item_line or 1),
            category=category,
            smalltalk=kind == "smalltalk",
        )


def _examples(
    value: Any, path: Path, line: int | None, report: Collector, intent_id: str | None
) -> tuple[Example, ...]:
    if not isinstance(value, list) or not value:
        report.error("needs a non-empty list of examples", path, line, intent_id)
        return ()
    examples = []
    for position, text in enumerate(value):
        example_line = line_of(value, position, line) or 1
        if not isinstance(text, str | int | float) or not str(text).strip():
            report.error("an example must be non-empty text", path, example_line, intent_id)
            continue
        examples.append(Example(str(text).strip(), SourceRef(path, example_line)))
    return tuple(examples)


def _read_synonyms(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    if not isinstance(value, dict):
        report.error("'synonyms' must map a canonical word to a list of variants", path, line)
        return
    for canonical, variants in value.items():
        key_line = line_of(value, canonical, line) or line
        if (
            not isinstance(canonical, str)
            or not isinstance(variants, list)
            or not all(isinstance(v, str) for v in variants)
        ):
            report.error(f"synonyms of {canonical!r} must be a list of texts", path, key_line)
            continue
        for word in (canonical, *variants):
            normal = " ".join(basic_tokens(word))
            owner = draft.synonym_owner.get(normal)
            if owner is not None and owner[0] != canonical:
                first = owner[1]
                report.error(
                    f"{word!r} is listed under both {owner[0]!r} "
                    f"({first.file}:{first.line}) and {canonical!r}",
                    path,
                    key_line,
                )
            draft.synonym_owner.setdefault(normal, (canonical, SourceRef(path, key_line)))
        draft.synonyms[canonical] = tuple(variants)


def _read_safety(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    patterns = value.get("patterns") if isinstance(value, dict) else None
    if not isinstance(patterns, list):
        report.error("'safety' must hold 'patterns:', a list of regular expressions", path, line)
        return
    for position, pattern in enumerate(patterns):
        pattern_line = line_of(patterns, position, line) or line
        try:
            re.compile(str(pattern))
        except re.error as exc:
            report.error(
                f"safety pattern {pattern!r} is not a valid regular expression: {exc}",
                path,
                pattern_line,
            )
            continue
        draft.safety.append(SafetyPattern(str(pattern), SourceRef(path, pattern_line)))


def _example_list(section: str) -> _SectionReader:
    """A reader for a top-level list of examples (``out_of_scope``, ``not_offered``)."""

    def read(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
        getattr(draft, section).extend(_examples(value, path, line, report, None))

    return read


def _read_responses(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    if not isinstance(value, dict):
        report.error(
            "'responses' must map intent ids to a title, an answer and follow_ups", path, line
        )
        return
    for intent_id, raw in value.items():
        key_line = line_of(value, intent_id, line) or line
        if not isinstance(raw, dict):
            report.error(
                "a response must be a mapping with title, answer and follow_ups",
                path,
                key_line,
                str(intent_id),
            )
            continue
        if intent_id in draft.responses:
            first = draft.responses[intent_id][1]
            report.error(
                f"duplicate response (first at {first.file}:{first.line})",
                path,
                key_line,
                intent_id,
            )
            continue
        draft.responses[str(intent_id)] = (raw, SourceRef(path, key_line))


def _read_messages(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    if not isinstance(value, dict):
        report.error("'messages' must map message names to texts", path, line)
        return
    for key, text in value.items():
        key_line = line_of(value, key, line) or line
        if not isinstance(text, str) or not text.strip():
            report.error(f"message {key!r} must be non-empty text", path, key_line)
            continue
        draft.messages[str(key)] = (text.strip(), SourceRef(path, key_line))


def _read_popular(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report.error("'popular_topics' must be a list of intent ids", path, line)
        return
    draft.popular.extend(
        (intent_id, SourceRef(path, line_of(value, i, line) or line))
        for i, intent_id in enumerate(value)
    )


def _read_commands(value: Any, path: Path, line: int, draft: Draft, report: Collector) -> None:
    _read_command_menu(value, path, line, draft.commands, report)
    draft.commands_ref = SourceRef(path, line)


def _read_admin_commands(
    value: Any, path: Path, line: int, draft: Draft, report: Collector
) -> None:
    _read_command_menu(value, path, line, draft.admin_commands, report)
    draft.admin_commands_ref = SourceRef(path, line)


def _read_command_menu(
    value: Any, path: Path, line: int, menu: dict[str, str], report: Collector
) -> None:
    if not isinstance(value, dict):
        report.error("a command menu must map command names to descriptions", path, line)
        return
    for name, description in value.items():
        key_line = line_of(value, name, line) or line
        if not isinstance(name, str) or not _COMMAND.match(name):
            report.error(
                f"command {name!r} must be 1-32 lowercase letters, digits or _", path, key_line
            )
        elif not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            report.error(
                f"command {name!r} needs a description of 1-256 characters", path, key_line
            )
        else:
            menu[name] = description.strip()


INTENT_SECTIONS: dict[str, _SectionReader] = {
    "intents": _read_intents,
    "synonyms": _read_synonyms,
    "safety": _read_safety,
    "out_of_scope": _example_list("out_of_scope"),
    "not_offered": _example_list("not_offered"),
}
RESPONSE_SECTIONS: dict[str, _SectionReader] = {
    "responses": _read_responses,
    "messages": _read_messages,
    "popular_topics": _read_popular,
    "commands": _read_commands,
    "admin_commands": _read_admin_commands,
}
