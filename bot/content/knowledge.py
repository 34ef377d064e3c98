"""The knowledge base as frozen, typed objects, built once from the content files."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.content.messages import Html, fill, placeholders_of
from bot.content.problems import SourceRef


@dataclass(frozen=True)
class Example:
    """One way people ask for an intent."""

    text: str
    source: SourceRef


@dataclass(frozen=True)
class Intent:
    """How people ask about one topic."""

    id: str
    examples: tuple[Example, ...]
    source: SourceRef
    category: str | None = None
    smalltalk: bool = False


@dataclass(frozen=True)
class Response:
    """What we answer for one intent, with placeholders already filled in."""

    intent_id: str
    title: str
    answer: str
    follow_ups: tuple[str, ...]
    source: SourceRef


@dataclass(frozen=True)
class MatchThresholds:
    """The clinic's overrides of the calibrated thresholds (confidence 0-100).

    None leaves the threshold to calibration: the engine computes it from the content when
    it loads (see ``bot.nlu.calibration``).
    """

    answer: float | None = None
    clarify: float | None = None


@dataclass(frozen=True)
class SafetyPattern:
    """A regular expression that routes a question to the safety answer."""

    pattern: str
    source: SourceRef


@dataclass(frozen=True)
class Knowledge:
    """Everything the bot knows; shared read-only by the matcher, engine and front ends."""

    intents: Mapping[str, Intent]
    responses: Mapping[str, Response]
    messages: Mapping[str, str]
    synonyms: Mapping[str, tuple[str, ...]]
    safety_patterns: tuple[SafetyPattern, ...]
    settings: Mapping[str, Any]
    thresholds: MatchThresholds = field(default_factory=MatchThresholds)
    # Questions we must NOT answer even though they share words with our topics.
    out_of_scope: tuple[Example, ...] = ()
    # Questions about treatments the clinic does not offer: an honest "we don't offer that".
    not_offered: tuple[Example, ...] = ()
    # Offered on the welcome and fallback replies.
    popular_topics: tuple[str, ...] = ()
    # Telegram command menu: name -> description.
    commands: Mapping[str, str] = field(default_factory=dict)
    admin_commands: Mapping[str, str] = field(default_factory=dict)

    def title(self, intent_id: str) -> str:
        """Button label of an intent."""
        return self.responses[intent_id].title

    def message(self, key: str) -> str:
        """A text the bot says outside answers (welcome, fallback, ...), as written."""
        return self.messages[key]

    def say(self, key: str, **values: str | int | Html) -> str:
        """Message ``key`` with its placeholders (bot/content/messages.py) filled in; values are
        HTML-escaped unless marked ``Html``. Every declared placeholder must be given."""
        expected = placeholders_of(key)
        if expected is None or expected != values.keys():
            raise TypeError(f"message {key!r} takes {sorted(expected or ())}, not {sorted(values)}")
        return fill(self.messages[key], values)

    def topic_overview(self) -> list[str]:
        """Every topic by category, one HTML line a category ("<b>Safety</b>: Does it hurt?,
        ..."): the middle of /help, on Telegram and in the terminal."""
        return [
            f"<b>{html.escape(category, quote=False)}</b>: "
            + ", ".join(html.escape(self.title(i), quote=False) for i in intent_ids)
            for category, intent_ids in self.categories().items()
        ]

    def categories(self) -> dict[str, list[str]]:
        """Topic menu: category name -> intent ids, in content order; small talk excluded."""
        menu: dict[str, list[str]] = {}
        for intent in self.intents.values():
            if intent.category and not intent.smalltalk:
                menu.setdefault(intent.category, []).append(intent.id)
        return menu


def freeze(mapping: dict[str, Any]) -> Mapping[str, Any]:
    """Read-only view, so no front end can change shared knowledge by accident."""
    return MappingProxyType(mapping)
