"""What the analytics store takes and gives: where a question came from, what became of a
vote, a published post, a period's figures; and the errors opening a database can meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Vote(StrEnum):
    """What became of a Helpful / Not helpful press."""

    SAVED = "saved"
    ALREADY = "already"  # this answer has the user's vote already
    UNKNOWN = "unknown"  # no such answer of this user (forgotten, or someone else's)


class Source(StrEnum):
    """Where a message came from."""

    PRIVATE = "private"
    GROUP = "group"
    INLINE = "inline"
    DEEP_LINK = "deep_link"
    DISCUSSION = "discussion"
    BUTTON = "button"


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the bot than this one."""


class SaltMismatchError(RuntimeError):
    """The analytics salt is not the one the database's user hashes were made with."""


@dataclass(frozen=True)
class Arrival:
    """What the inbox knows of an update as it arrives (``EventStore.inbox_check``)."""

    handled: bool  # already handled: a redelivery or a replay, to skip
    earlier_waiting: bool  # an earlier update of its chat is still to be handled
    user_state: bytes | None  # the user's saved conversation state, when asked for


@dataclass(frozen=True)
class Post:
    """An FAQ card published to the channel; ``tag`` is in its deep link."""

    id: int
    intent_id: str
    channel: str
    message_id: int
    tag: str
    published_at: datetime


@dataclass(frozen=True)
class Stats:
    """Counts over the last ``days`` calendar days (today included, UTC)."""

    days: int
    questions: int
    answered: int
    clarified: int
    fallbacks: int
    safety: int
    answer_rate: float | None
    fallback_rate: float | None
    helpful_yes: int
    helpful_no: int
    helpful_rate: float | None
    top_intents: list[tuple[str, int]]
    sources: dict[str, int]
    deep_link_tags: list[tuple[str, int]]
    post_visits: list[tuple[Post, int]]
    per_day: list[tuple[date, int]]


@dataclass(frozen=True)
class DayOutcomes:
    """What became of one day's questions (small talk aside), in the clinic's time zone."""

    day: date
    answered: int = 0
    clarified: int = 0  # "did you mean"
    fell_back: int = 0
    safety: int = 0
    handed_off: int = 0  # questions passed to the clinic team

    @property
    def questions(self) -> int:
        return self.answered + self.clarified + self.fell_back + self.safety

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None


@dataclass(frozen=True)
class Learned:
    """A phrasing an admin taught: ``intent_id`` is a topic, or out_of_scope ("not ours")."""

    id: int
    text: str
    intent_id: str
    added_at: datetime
