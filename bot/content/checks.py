"""Checks across all files once they are read: every reference resolves, every phrasing
belongs to one class, every text is valid Telegram HTML of a sendable length, every message
has the placeholders the code fills in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.content.draft import Collector, Draft
from bot.content.html_text import MAX_MESSAGE_LENGTH, html_problems, visible_length
from bot.content.knowledge import (
    Example,
)
from bot.content.messages import MESSAGES, placeholder_problems
from bot.content.phrasing import basic_tokens
from bot.content.problems import SourceRef
from bot.content.settings import fill_placeholders
from bot.content.yaml_source import line_of
from bot.paths import SETTINGS_FILE

MAX_TITLE_LENGTH = 30  # longer labels are cut off on phone-sized inline buttons
# Every message the code says (bot/content/messages.py declares them, with their placeholders).
REQUIRED_MESSAGES = tuple(MESSAGES)
REQUIRED_COMMANDS = ("start", "help", "topics", "book", "privacy", "human", "forget")
REQUIRED_ADMIN_COMMANDS = ("stats", "gaps", "post", "posts", "reload", "learned", "todo")
# Fewer examples than this and cross-validation cannot judge an intent (see bot.nlu).
MIN_CALIBRATION_EXAMPLES = 5
_RESPONSE_KEYS = {"title", "answer", "follow_ups"}


# --- cross-checks -------------------------------------------------------------------------


def cross_check(draft: Draft, settings: Mapping[str, Any], report: Collector) -> None:
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


def _check_examples_unique(draft: Draft, report: Collector) -> None:
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
    draft: Draft,
    settings: Mapping[str, Any],
    report: Collector,
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
    report: Collector,
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
