"""Load and validate the content folder into a frozen ``Knowledge``.

Every problem is collected (not just the first) and located by file and line, so a clinic
editor can fix a whole batch of mistakes in one go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.clinic_settings import derive_settings, fill_placeholders, opening_hours_problems
from bot.html_text import MAX_MESSAGE_LENGTH, html_problems, visible_length
from bot.knowledge import (
    Example,
    Intent,
    Knowledge,
    MatchThresholds,
    Response,
    SafetyPattern,
    freeze,
)
from bot.messages import MESSAGES, placeholder_problems
from bot.paths import SETTINGS_FILE
from bot.problems import ContentError, Problem, Severity, SourceRef
from bot.text_normalizer import basic_tokens
from bot.yaml_source import LineList, line_of, read_yaml

MAX_TITLE_LENGTH = 30  # longer labels are cut off on phone-sized inline buttons
# Every message the code says (bot/messages.py declares them, with their placeholders).
REQUIRED_MESSAGES = tuple(MESSAGES)
REQUIRED_COMMANDS = ("start", "help", "topics", "book", "privacy", "human", "forget")
REQUIRED_ADMIN_COMMANDS = ("stats", "gaps", "post", "posts", "reload")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")  # Telegram's rule for command names
SNAPSHOT_ATTEMPTS = 3
# Fewer examples than this and cross-validation cannot judge an intent (see bot.nlu).
MIN_CALIBRATION_EXAMPLES = 5
MAX_INTENT_ID_LENGTH = 50  # leaves room in 64-byte callback data and deep-link payloads
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_INTENT_KEYS = {"id", "examples", "category", "kind"}
_RESPONSE_KEYS = {"title", "answer", "follow_ups"}
RESERVED_IDS = frozenset({"out_of_scope", "not_offered", "safety"})


class _Collector:
    """Accumulates problems while the content is read."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(
        self, message: str, file: Path, line: int | None, intent_id: str | None = None
    ) -> None:
        self.problems.append(Problem(message, file, line, intent_id))

    def warning(
        self, message: str, file: Path, line: int | None, intent_id: str | None = None
    ) -> None:
        self.problems.append(Problem(message, file, line, intent_id, Severity.WARNING))

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


class _Draft:
    """Raw pieces gathered from all files before cross-checks."""

    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}
        self.responses: dict[str, tuple[dict[Any, Any], SourceRef]] = {}
        self.messages: dict[str, tuple[str, SourceRef]] = {}
        self.synonyms: dict[str, tuple[str, ...]] = {}
        self.synonym_owner: dict[str, tuple[str, SourceRef]] = {}
        self.safety: list[SafetyPattern] = []
        self.out_of_scope: list[Example] = []
        self.not_offered: list[Example] = []
        self.popular: list[tuple[str, SourceRef]] = []
        self.commands: dict[str, str] = {}
        self.commands_ref: SourceRef | None = None
        self.admin_commands: dict[str, str] = {}
        self.admin_commands_ref: SourceRef | None = None
        # A file that does not parse: what it seems to define (any id or key in it) must not
        # be reported missing, but every other cross-reference is still checked.
        self.unreadable: list[Path] = []
        self.maybe_defined: set[str] = set()

    def defines(self, name: str, where: Mapping[str, object]) -> bool:
        """Whether ``name`` is in ``where``, or may be in a file that did not parse."""
        return name in where or name in self.maybe_defined


def load_knowledge(content_dir: Path) -> Knowledge:
    """Read, validate and freeze the content; raise ``ContentError`` listing every problem."""
    knowledge, problems = check_content(content_dir)
    if knowledge is None:
        raise ContentError(problems)
    return knowledge


def check_content(content_dir: Path) -> tuple[Knowledge | None, list[Problem]]:
    """Like ``load_knowledge`` but return the problems instead of raising.

    The files are read as one snapshot: when any of them changed while they were read (an
    editor or a deploy writing them), the content is read again, so answers never mix old
    and new files; after SNAPSHOT_ATTEMPTS the change is reported as an error.
    """
    for _ in range(SNAPSHOT_ATTEMPTS):
        before = _fingerprint(content_dir)
        knowledge, problems = _check_once(content_dir)
        if _fingerprint(content_dir) == before:
            return knowledge, problems
    return None, [
        Problem(
            f"the content kept changing while it was read ({SNAPSHOT_ATTEMPTS} tries): "
            "try again when the edit or upload has finished",
            content_dir,
        )
    ]


def _fingerprint(content_dir: Path) -> dict[Path, tuple[int, int]]:
    """Modification time and size of every content file."""
    paths = [content_dir / SETTINGS_FILE]
    for folder in ("intents", "responses"):
        paths += sorted((content_dir / folder).glob("*.y*ml"))
    stamps = {}
    for path in paths:
        try:
            status = path.stat()
        except OSError:
            continue  # a missing file is reported by the read itself
        stamps[path] = (status.st_mtime_ns, status.st_size)
    return stamps


def _check_once(content_dir: Path) -> tuple[Knowledge | None, list[Problem]]:
    report = _Collector()
    draft = _Draft()
    settings_raw = _read_settings(content_dir / SETTINGS_FILE, report)
    for folder, readers in (("intents", _INTENT_SECTIONS), ("responses", _RESPONSE_SECTIONS)):
        files = sorted((content_dir / folder).glob("*.y*ml"))
        if not files:
            report.error(f"no YAML files in {folder}/", content_dir / folder, None)
        for path in files:
            _read_sections(path, readers, draft, report)
    settings = derive_settings(settings_raw or {})
    _cross_check(draft, settings, report)
    if report.has_errors or settings_raw is None:
        return None, report.problems
    responses = {
        intent_id: _build_response(intent_id, raw, ref, settings)
        for intent_id, (raw, ref) in draft.responses.items()
    }
    knowledge = Knowledge(
        intents=freeze(draft.intents),
        responses=freeze(responses),
        messages=freeze(
            {k: fill_placeholders(text, settings)[0] for k, (text, _) in draft.messages.items()}
        ),
        synonyms=freeze(draft.synonyms),
        safety_patterns=tuple(draft.safety),
        settings=freeze(settings),
        thresholds=_thresholds(settings_raw),
        out_of_scope=tuple(draft.out_of_scope),
        not_offered=tuple(draft.not_offered),
        popular_topics=tuple(intent_id for intent_id, _ in draft.popular),
        commands=freeze(draft.commands),
        admin_commands=freeze(draft.admin_commands),
    )
    return knowledge, report.problems


# --- settings -------------------------------------------------------------------------


def _read_settings(path: Path, report: _Collector) -> dict[str, Any] | None:
    data, problems = (
        read_yaml(path) if path.is_file() else (None, [Problem("settings file is missing", path)])
    )
    report.problems.extend(problems)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("clinic"), dict):
        report.error("expected a mapping with a 'clinic:' section", path, 1)
        return None
    clinic = data["clinic"]
    if not str(clinic.get("name", "")).strip():
        report.error("clinic.name is required", path, line_of(data, "clinic"))
    if "opening_hours" in clinic:
        for problem in opening_hours_problems(clinic["opening_hours"]):
            report.error(problem, path, line_of(clinic, "opening_hours"))
    matching = data.get("matching") or {}
    if not isinstance(matching, dict):
        report.error("'matching' must be a mapping of thresholds", path, line_of(data, "matching"))
        return data
    if "clarify_margin" in matching:
        report.warning(
            "matching.clarify_margin is no longer used: close rivals lower the calibrated "
            "confidence instead",
            path,
            line_of(matching, "clarify_margin"),
        )
    for key in ("answer_threshold", "clarify_threshold"):
        value = matching.get(key)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 100):
            report.error(
                f"matching.{key} must be a number from 0 to 100", path, line_of(matching, key)
            )
    try:
        thresholds = _thresholds(data)
    except (TypeError, ValueError):
        return data
    if (
        thresholds.clarify is not None
        and thresholds.answer is not None
        and thresholds.clarify > thresholds.answer
    ):
        report.error(
            "matching.clarify_threshold must not exceed answer_threshold",
            path,
            line_of(data, "matching"),
        )
    return data


def _thresholds(settings: Mapping[str, Any]) -> MatchThresholds:
    matching = settings.get("matching") or {}
    answer, clarify = matching.get("answer_threshold"), matching.get("clarify_threshold")
    return MatchThresholds(
        answer=None if answer is None else float(answer),
        clarify=None if clarify is None else float(clarify),
    )


# --- per-file sections ------------------------------------------------------------------

_SectionReader = Callable[[Any, Path, int, _Draft, _Collector], None]


def _read_sections(
    path: Path, readers: Mapping[str, _SectionReader], draft: _Draft, report: _Collector
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


def _read_intents(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
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
    value: Any, path: Path, line: int | None, report: _Collector, intent_id: str | None
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


def _read_synonyms(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
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


def _read_safety(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
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

    def read(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
        getattr(draft, section).extend(_examples(value, path, line, report, None))

    return read


def _read_responses(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
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


def _read_messages(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
    if not isinstance(value, dict):
        report.error("'messages' must map message names to texts", path, line)
        return
    for key, text in value.items():
        key_line = line_of(value, key, line) or line
        if not isinstance(text, str) or not text.strip():
            report.error(f"message {key!r} must be non-empty text", path, key_line)
            continue
        draft.messages[str(key)] = (text.strip(), SourceRef(path, key_line))


def _read_popular(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report.error("'popular_topics' must be a list of intent ids", path, line)
        return
    draft.popular.extend(
        (intent_id, SourceRef(path, line_of(value, i, line) or line))
        for i, intent_id in enumerate(value)
    )


def _read_commands(value: Any, path: Path, line: int, draft: _Draft, report: _Collector) -> None:
    _read_command_menu(value, path, line, draft.commands, report)
    draft.commands_ref = SourceRef(path, line)


def _read_admin_commands(
    value: Any, path: Path, line: int, draft: _Draft, report: _Collector
) -> None:
    _read_command_menu(value, path, line, draft.admin_commands, report)
    draft.admin_commands_ref = SourceRef(path, line)


def _read_command_menu(
    value: Any, path: Path, line: int, menu: dict[str, str], report: _Collector
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


_INTENT_SECTIONS: dict[str, _SectionReader] = {
    "intents": _read_intents,
    "synonyms": _read_synonyms,
    "safety": _read_safety,
    "out_of_scope": _example_list("out_of_scope"),
    "not_offered": _example_list("not_offered"),
}
_RESPONSE_SECTIONS: dict[str, _SectionReader] = {
    "responses": _read_responses,
    "messages": _read_messages,
    "popular_topics": _read_popular,
    "commands": _read_commands,
    "admin_commands": _read_admin_commands,
}


# --- cross-checks -------------------------------------------------------------------------


def _cross_check(draft: _Draft, settings: Mapping[str, Any], report: _Collector) -> None:
    for intent_id, (raw, ref) in draft.responses.items():
        _check_response(intent_id, raw, ref, draft, settings, report)
    for key, (text, ref) in draft.messages.items():
        _check_text(text, f"message {key!r}", ref.file, ref.line, None, settings, report)
        for problem in placeholder_problems(key, text):
            report.error(f"message {key!r}: {problem}", ref.file, ref.line)
    _check_examples_unique(draft, report)
    for intent_id, intent in draft.intents.items():
        if not draft.defines(intent_id, draft.responses):
            report.error(
                "intent has no response in responses/",
                intent.source.file,
                intent.source.line,
                intent_id,
            )
    for intent_id, (_, ref) in draft.responses.items():
        if not draft.defines(intent_id, draft.intents):
            report.error("response has no intent in intents/", ref.file, ref.line, intent_id)
    if draft.messages or draft.responses:
        where = next(iter(draft.messages.values()), (None, SourceRef(Path("responses"), 0)))[1]
        for key in REQUIRED_MESSAGES:
            if not draft.defines(key, draft.messages):
                report.error(f"message {key!r} is missing from 'messages:'", where.file, None)
    menus = (
        ("commands", draft.commands, draft.commands_ref, REQUIRED_COMMANDS),
        ("admin_commands", draft.admin_commands, draft.admin_commands_ref, REQUIRED_ADMIN_COMMANDS),
    )
    for section, menu, menu_ref, required in menus:
        if menu_ref is None:
            if draft.messages and section not in draft.maybe_defined:
                first = next(iter(draft.messages.values()))[1]
                report.error(f"a '{section}:' section is missing", first.file, None)
            continue
        for name in required:
            if not draft.defines(name, menu):
                report.error(
                    f"command {name!r} is missing from '{section}:'", menu_ref.file, menu_ref.line
                )
    for intent_id, ref in draft.popular:
        if not draft.defines(intent_id, draft.intents):
            report.error(f"popular topic {intent_id!r} is not an intent", ref.file, ref.line)


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


def _check_examples_unique(draft: _Draft, report: _Collector) -> None:
    """One class per phrasing: the matcher learns from these, and a phrasing taught as two
    things (or as a topic and as out of scope) teaches nothing."""
    seen: dict[str, tuple[str, Example]] = {}
    groups: list[tuple[str, Sequence[Example]]] = [
        (intent.id, intent.examples) for intent in draft.intents.values()
    ]
    groups += [("out_of_scope", draft.out_of_scope), ("not_offered", draft.not_offered)]
    for owner, examples in groups:
        for example in examples:
            key = " ".join(basic_tokens(example.text))
            first = seen.get(key)
            if first is None:
                seen[key] = (owner, example)
                continue
            if first[0] == owner:
                message = f"example {example.text!r} is listed twice"
            else:
                where = f"{first[1].source.file}:{first[1].source.line}"
                message = f"example {example.text!r} is also an example of {first[0]!r} ({where})"
            intent_id = owner if owner in draft.intents else None
            report.error(message, example.source.file, example.source.line, intent_id)
    for intent in draft.intents.values():
        if len(intent.examples) < MIN_CALIBRATION_EXAMPLES:
            report.warning(
                f"only {len(intent.examples)} example(s): calibration cannot hold enough out to "
                f"judge this intent, and the matcher learns little from so few "
                f"(aim for {MIN_CALIBRATION_EXAMPLES} or more)",
                intent.source.file,
                intent.source.line,
                intent.id,
            )
    if draft.not_offered and "not_offered" not in draft.messages:
        first_example = draft.not_offered[0].source
        report.error(
            "'not_offered' examples need a 'not_offered' message in responses/",
            first_example.file,
            first_example.line,
        )


def _check_response(
    intent_id: str,
    raw: dict[Any, Any],
    ref: SourceRef,
    draft: _Draft,
    settings: Mapping[str, Any],
    report: _Collector,
) -> None:
    for key in sorted(set(raw) - _RESPONSE_KEYS):
        report.error(f"unknown key {key!r}", ref.file, line_of(raw, key), intent_id)
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        report.error("title is required", ref.file, ref.line, intent_id)
    elif len(title.strip()) > MAX_TITLE_LENGTH:
        report.error(
            f"title {title!r} has {len(title.strip())} characters; "
            f"a button fits {MAX_TITLE_LENGTH}",
            ref.file,
            line_of(raw, "title"),
            intent_id,
        )
    answer = raw.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        report.error("answer is required", ref.file, ref.line, intent_id)
    else:
        _check_text(answer, "answer", ref.file, line_of(raw, "answer"), intent_id, settings, report)
    follow_ups = raw.get("follow_ups", [])
    if not isinstance(follow_ups, list):
        report.error(
            "follow_ups must be a list of intent ids",
            ref.file,
            line_of(raw, "follow_ups"),
            intent_id,
        )
        return
    for position, follow_up in enumerate(follow_ups):
        line = line_of(follow_ups, position, line_of(raw, "follow_ups"))
        if follow_up == intent_id:
            report.error("follow-up points to the intent itself", ref.file, line, intent_id)
        elif not draft.defines(follow_up, draft.intents):
            report.error(f"follow-up {follow_up!r} is not an intent", ref.file, line, intent_id)


def _check_text(
    text: str,
    what: str,
    file: Path,
    line: int | None,
    intent_id: str | None,
    settings: Mapping[str, Any],
    report: _Collector,
) -> None:
    rendered, unknown = fill_placeholders(text, settings)
    for name in unknown:
        report.error(
            f"{what}: placeholder {{{name}}} names no setting in {SETTINGS_FILE}",
            file,
            line,
            intent_id,
        )
    for problem in html_problems(rendered):
        report.error(f"{what}: invalid Telegram HTML: {problem}", file, line, intent_id)
    length = visible_length(rendered)
    if length > MAX_MESSAGE_LENGTH:
        report.error(
            f"{what}: {length} characters once rendered; Telegram allows {MAX_MESSAGE_LENGTH}",
            file,
            line,
            intent_id,
        )


def _build_response(
    intent_id: str, raw: dict[Any, Any], ref: SourceRef, settings: Mapping[str, Any]
) -> Response:
    follow_ups = raw.get("follow_ups") or LineList()
    return Response(
        intent_id=intent_id,
        title=str(raw["title"]).strip(),
        answer=fill_placeholders(str(raw["answer"]).strip(), settings)[0],
        follow_ups=tuple(str(f) for f in follow_ups),
        source=ref,
    )
