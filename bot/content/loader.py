"""Load and validate the content folder into a frozen ``Knowledge``.

Every problem is collected (not just the first) and located by file and line, so a clinic
editor can fix a whole batch of mistakes in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.content.checks import cross_check
from bot.content.draft import Collector, Draft
from bot.content.knowledge import (
    Knowledge,
    MatchThresholds,
    Response,
    freeze,
)
from bot.content.problems import ContentError, Problem, SourceRef
from bot.content.sections import INTENT_SECTIONS, RESPONSE_SECTIONS, read_sections
from bot.content.settings import derive_settings, fill_placeholders, opening_hours_problems
from bot.content.yaml_source import LineList, line_of, read_yaml
from bot.paths import SETTINGS_FILE

SNAPSHOT_ATTEMPTS = 3


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
    report = Collector()
    draft = Draft()
    settings_raw = _read_settings(content_dir / SETTINGS_FILE, report)
    for folder, readers in (("intents", INTENT_SECTIONS), ("responses", RESPONSE_SECTIONS)):
        files = sorted((content_dir / folder).glob("*.y*ml"))
        if not files:
            report.error(f"no YAML files in {folder}/", content_dir / folder, None)
        for path in files:
            read_sections(path, readers, draft, report)
    settings = derive_settings(settings_raw or {})
    cross_check(draft, settings, report)
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


def _read_settings(path: Path, report: Collector) -> dict[str, Any] | None:
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
