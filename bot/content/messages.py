"""The messages the code says, and the runtime placeholders each one is filled with.

``responses/messages.yaml`` holds the wording, which the clinic edits; this table is what the
code promises to fill in when it says a message (``Knowledge.say``). The loader checks every
message text against it, so an edit cannot silently break a message:

* a message the code says is missing from the file: an error;
* a text with a placeholder the code never fills (``{cuont}``): an error, since the patient
  would see the braces;
* a text that lost a placeholder the code fills (``forget_done`` without ``{count}``): an
  error, since the reader would lose what the message is for.

Runtime placeholders are one lower-case word in braces. ``{section.key}`` placeholders (with
a dot) are the clinic's settings, filled when the content is loaded (``clinic_settings``).
"""

from __future__ import annotations

import html
import re

# Every message the code says, with the placeholders it fills in.
MESSAGES: dict[str, frozenset[str]] = {
    name: frozenset(placeholders)
    for name, placeholders in {
        # conversation
        "welcome": (),
        "help": (),
        "fallback": (),
        "clarify": (),
        "none_of_these": (),
        "safety": (),
        "unsupported_media": (),
        "topics": (),
        "back": (),
        "book": (),
        "privacy": ("retention_days",),
        "error": (),
        "other_language": (),
        # buttons and toasts
        "book_button": (),
        "ask_button": (),
        "topics_button": (),
        "stale_button": (),
        "feedback_yes": (),
        "feedback_no": (),
        "feedback_thanks": (),
        "feedback_already": (),
        # talking to a person
        "human_button": (),
        "handoff_ask": (),
        "handoff_confirm": (),
        "handoff_send": (),
        "handoff_new": (),
        "handoff_sent": (),
        "handoff_after_hours": ("opening",),
        "handoff_unavailable": (),
        "handoff_failed": (),
        "handoff_to_staff": ("name", "question"),
        "staff_reply": ("reply",),
        "staff_relayed": (),
        "staff_relay_forgotten": (),
        "staff_relay_failed": (),
        # privacy
        "forget_done": ("count",),
        "forget_anonymous": (),
        # admins
        "admin_only": (),
        "admin_unknown_topic": ("topic", "suggestions"),
        "admin_post_usage": (),
        "admin_no_channel": (),
        "admin_post_preview": ("channel",),
        "admin_publish": (),
        "admin_cancel": (),
        "admin_published": ("channel", "tag"),
        "admin_cancelled": (),
        "admin_post_failed": ("channel", "reason"),
        "admin_no_posts": (),
        "admin_reloaded": ("intents", "examples"),
        "admin_reload_failed": (),
        "admin_reload_suspect": (),
        "admin_database_damaged": ("path",),
        "admin_database_unreachable": (),
        "admin_database_back": (),
        "digest_intro": (),
        # teaching from the gaps (admins)
        "gaps_card": ("count", "examples", "nearest"),
        "gaps_add": ("topic",),
        "gaps_not_ours": (),
        "gaps_skip": (),
        "gaps_other": (),
        "gaps_todo": (),
        "gaps_pick_topic": (),
        "gaps_todo_noted": (),
        "gaps_todo_listed": (),
        "todo_none": (),
        "todo_intro": (),
        "gaps_taught": ("count", "topic"),
        "gaps_refused": ("reasons",),
        "gaps_skipped": (),
        "gaps_done": (),
        "learned_none": (),
        "learned_intro": (),
        "learned_undo": ("number",),
        "learned_undone": ("text", "topic"),
    }.items()
}
# Said only when the content uses the feature: "we don't offer that" needs not_offered
# examples; other_language_<code> says other_language first in that language.
OPTIONAL_MESSAGES: dict[str, frozenset[str]] = {"not_offered": frozenset()}
OTHER_LANGUAGE_PREFIX = "other_language_"
RUNTIME_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class Html(str):
    """A value that is Telegram HTML already (built by the code), filled in as it is."""

    __slots__ = ()


def placeholders_of(name: str) -> frozenset[str] | None:
    """The placeholders the code fills in message ``name``; None for a message it never says."""
    if name in MESSAGES:
        return MESSAGES[name]
    if name in OPTIONAL_MESSAGES:
        return OPTIONAL_MESSAGES[name]
    if name.startswith(OTHER_LANGUAGE_PREFIX):
        return MESSAGES["other_language"]
    return None


def placeholder_problems(name: str, text: str) -> list[str]:
    """What is wrong with the runtime placeholders of message ``name``; empty when fine."""
    expected = placeholders_of(name)
    if expected is None:
        return []
    found = set(RUNTIME_PLACEHOLDER.findall(text))
    problems = [
        f"placeholder {{{unknown}}} is never filled in (the message takes {_listed(expected)})"
        for unknown in sorted(found - expected)
    ]
    problems += [
        f"placeholder {{{lost}}} is missing: the bot fills it in here"
        for lost in sorted(expected - found)
    ]
    return problems


def fill(text: str, values: dict[str, str | int | Html]) -> str:
    """``text`` with each ``{name}`` replaced by its value, HTML-escaped unless it is Html."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        return value if isinstance(value, Html) else html.escape(str(value), quote=False)

    return RUNTIME_PLACEHOLDER.sub(value_of, text)


def _listed(names: frozenset[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in sorted(names)) if names else "none"
