"""Inline keyboards, and the typed callback data behind their buttons.

Each kind of button has a class: ``pack()`` makes its callback data (at most 64 bytes),
``PATTERN`` routes a press to its handler (one ``CallbackQueryHandler`` per kind, in
``application.py``), ``parse()`` reads it back (None when the data is not of that kind):

  ``a:<intent_id>``  Answer: answer that intent    ``n``  NoneOfThese: -> the fallback
  ``t``, ``t:<n>``   Topics: categories / one      ``f:<event>:y|n``  Feedback: helpful?
  ``h``, ``h:send``, ``h:new``  Handoff: talk to a person
  ``p:<intent_id>``, ``p:cancel``  Publish: admin's channel post, or not
  ``g:add|out|skip|todo|other:<n>``  Teach: the n-th group of /gaps to its nearest topic,
                     as not ours, skipped, as a content to-do, or to another topic:
  ``gm:<n>:<c>``     TeachMenu: that group's topics of category c
  ``gt:<n>:<intent_id>``  TeachTo: that group to this topic     ``u:<id>``  Unlearn
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content.knowledge import Knowledge
from bot.engine import Reply, ReplyKind

_INTENT = r"[a-z][a-z0-9_]*"
_PAYLOAD = re.compile(r"^([a-z][a-z0-9_]*)(?:-([A-Za-z0-9_-]{1,40}))?$")


@dataclass(frozen=True)
class Answer:
    """Answer one topic (follow-ups, the topics menu, "did you mean" choices)."""

    intent_id: str
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(rf"^a:({_INTENT})$")

    def pack(self) -> str:
        return f"a:{self.intent_id}"

    @classmethod
    def parse(cls, data: str) -> Answer | None:
        match = cls.PATTERN.match(data)
        return cls(match.group(1)) if match else None


@dataclass(frozen=True)
class NoneOfThese:
    """Under a "did you mean": none of the choices fits."""

    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^n$")

    def pack(self) -> str:
        return "n"


@dataclass(frozen=True)
class Topics:
    """The topics menu: every category (``category`` None) or one of them."""

    category: int | None = None
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^t(?::(\d{1,3}))?$")

    def pack(self) -> str:
        return "t" if self.category is None else f"t:{self.category}"

    @classmethod
    def parse(cls, data: str) -> Topics | None:
        match = cls.PATTERN.match(data)
        if not match:
            return None
        return cls(None if match.group(1) is None else int(match.group(1)))


@dataclass(frozen=True)
class Feedback:
    """Helpful / not helpful, on one recorded answer (event ids fit in 18 digits)."""

    event_id: int
    helpful: bool
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^f:(\d{1,18}):([yn])$")

    def pack(self) -> str:
        return f"f:{self.event_id}:{'y' if self.helpful else 'n'}"

    @classmethod
    def parse(cls, data: str) -> Feedback | None:
        match = cls.PATTERN.match(data)
        return cls(int(match.group(1)), match.group(2) == "y") if match else None


HandoffChoice = Literal["send", "new"]


@dataclass(frozen=True)
class Handoff:
    """Talk to a person (``choice`` None), then send the last question or ask a new one."""

    choice: HandoffChoice | None = None
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^h(?::(send|new))?$")

    def pack(self) -> str:
        return "h" if self.choice is None else f"h:{self.choice}"

    @classmethod
    def parse(cls, data: str) -> Handoff | None:
        match = cls.PATTERN.match(data)
        if not match:
            return None
        choice = match.group(1)
        return cls("send" if choice == "send" else "new" if choice == "new" else None)


@dataclass(frozen=True)
class Publish:
    """An admin's post preview: publish ``intent_id`` to the channel, or cancel (None)."""

    intent_id: str | None
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(rf"^p:({_INTENT})$")
    _CANCEL: ClassVar[str] = "cancel"

    def pack(self) -> str:
        return f"p:{self.intent_id or self._CANCEL}"

    @classmethod
    def parse(cls, data: str) -> Publish | None:
        match = cls.PATTERN.match(data)
        if not match:
            return None
        return cls(None if match.group(1) == cls._CANCEL else match.group(1))


TeachAction = Literal["add", "out", "skip", "todo", "other"]
_TEACH_ACTIONS: tuple[TeachAction, ...] = ("add", "out", "skip", "todo", "other")


@dataclass(frozen=True)
class Teach:
    """An admin's choice for the ``index``-th group of unanswered questions in /gaps."""

    action: TeachAction
    index: int
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^g:(add|out|skip|todo|other):(\d{1,3})$")

    def pack(self) -> str:
        return f"g:{self.action}:{self.index}"

    @classmethod
    def parse(cls, data: str) -> Teach | None:
        match = cls.PATTERN.match(data)
        if not match:
            return None
        action = next(a for a in _TEACH_ACTIONS if a == match.group(1))
        return cls(action, int(match.group(2)))


@dataclass(frozen=True)
class TeachMenu:
    """The topics of one category, to teach the ``index``-th group of /gaps to one of them."""

    index: int
    category: int
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^gm:(\d{1,3}):(\d{1,3})$")

    def pack(self) -> str:
        return f"gm:{self.index}:{self.category}"

    @classmethod
    def parse(cls, data: str) -> TeachMenu | None:
        match = cls.PATTERN.match(data)
        return cls(int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class TeachTo:
    """Teach the ``index``-th group of /gaps to the topic ``intent_id``."""

    index: int
    intent_id: str
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(rf"^gt:(\d{{1,3}}):({_INTENT})$")

    def pack(self) -> str:
        return f"gt:{self.index}:{self.intent_id}"

    @classmethod
    def parse(cls, data: str) -> TeachTo | None:
        match = cls.PATTERN.match(data)
        return cls(int(match.group(1)), match.group(2)) if match else None


@dataclass(frozen=True)
class Unlearn:
    """Undo one taught phrasing (its id in the database)."""

    learned_id: int
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^u:(\d{1,18})$")

    def pack(self) -> str:
        return f"u:{self.learned_id}"

    @classmethod
    def parse(cls, data: str) -> Unlearn | None:
        match = cls.PATTERN.match(data)
        return cls(int(match.group(1))) if match else None


ButtonData = (
    Answer
    | NoneOfThese
    | Topics
    | Feedback
    | Handoff
    | Publish
    | Teach
    | TeachMenu
    | TeachTo
    | Unlearn
)


def button(label: str, data: ButtonData) -> InlineKeyboardButton:
    """A callback button of one of the kinds above."""
    return InlineKeyboardButton(label, callback_data=data.pack())


def reply_keyboard(
    reply: Reply, knowledge: Knowledge, event_id: int | None = None, handoff: bool = False
) -> InlineKeyboardMarkup | None:
    """Follow-ups one per row (easy to tap on a phone), then the reply kind's extras.

    ``event_id`` adds the "Helpful?" pair to answers; ``handoff`` adds "Talk to a person"
    to fallbacks (only where a staff chat can receive the question).
    """
    offers_handoff = handoff and reply.kind is ReplyKind.FALLBACK
    human = knowledge.message("human_button").strip()
    rows = [
        [button(s.label, Answer(s.intent_id))]
        for s in reply.suggestions
        # Two buttons of one label that do different things confuse: the handoff wins.
        if not (offers_handoff and s.label.strip() == human)
    ]
    if reply.kind is ReplyKind.CLARIFY:
        rows.append([button(knowledge.message("none_of_these"), NoneOfThese())])
    if reply.kind is ReplyKind.FALLBACK:
        rows.append([button(knowledge.message("topics_button"), Topics())])
        if handoff:
            rows.append([button(knowledge.message("human_button"), Handoff())])
    booking = booking_url(knowledge)
    if booking and reply.kind is ReplyKind.ANSWER:
        rows.append([InlineKeyboardButton(knowledge.message("book_button"), url=booking)])
    if event_id is not None and reply.kind is ReplyKind.ANSWER:
        rows.append(feedback_row(knowledge, event_id))
    return InlineKeyboardMarkup(rows) if rows else None


def feedback_row(knowledge: Knowledge, event_id: int) -> list[InlineKeyboardButton]:
    """The small "Helpful? Yes / No" pair under an answer."""
    return [
        button(knowledge.message("feedback_yes"), Feedback(event_id, helpful=True)),
        button(knowledge.message("feedback_no"), Feedback(event_id, helpful=False)),
    ]


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard with the feedback pair removed, once the user has voted."""
    if markup is None:
        return None
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(Feedback.parse(str(b.callback_data or "")) for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def choice_keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    """One row of buttons, e.g. Publish / Cancel."""
    return InlineKeyboardMarkup([list(buttons)])


def booking_url(knowledge: Knowledge) -> str | None:
    """The clinic's online booking link, if it has one."""
    clinic = knowledge.settings.get("clinic") or {}
    url = str(clinic.get("booking_url") or "").strip()
    return url if url.startswith(("https://", "http://")) else None


def booking_keyboard(knowledge: Knowledge) -> InlineKeyboardMarkup | None:
    """A single "Book online" button, where the clinic has a booking link."""
    url = booking_url(knowledge)
    return (
        InlineKeyboardMarkup([[InlineKeyboardButton(knowledge.message("book_button"), url=url)]])
        if url
        else None
    )


def categories_keyboard(knowledge: Knowledge) -> InlineKeyboardMarkup:
    """The topics menu: one button per category."""
    categories = list(knowledge.categories())
    return InlineKeyboardMarkup(
        [[button(name, Topics(index))] for index, name in enumerate(categories)]
    )


def category_keyboard(knowledge: Knowledge, index: int) -> InlineKeyboardMarkup | None:
    """Intents of the ``index``-th category plus a back button; None if there is none."""
    categories = list(knowledge.categories().values())
    if not 0 <= index < len(categories):
        return None
    rows = [
        [button(knowledge.title(intent_id), Answer(intent_id))] for intent_id in categories[index]
    ]
    rows.append([button(knowledge.message("back"), Topics())])
    return InlineKeyboardMarkup(rows)


def deep_link(bot_username: str, intent_id: str, tag: str | None = None) -> str:
    """``t.me`` link that opens the bot at ``intent_id``; ``tag`` names where it was shared."""
    payload = f"{intent_id}-{tag}" if tag else intent_id
    return f"https://t.me/{bot_username}?start={payload}"


def parse_start_payload(payload: str) -> tuple[str, str | None] | None:
    """``"pricing-post7"`` -> ``("pricing", "post7")``; None when it is not ours."""
    match = _PAYLOAD.match(payload)
    return (match.group(1), match.group(2)) if match else None


def ask_keyboard(
    knowledge: Knowledge, bot_username: str, intent_id: str, tag: str
) -> InlineKeyboardMarkup:
    """An "Ask the assistant" button that deep-links into the bot at a topic."""
    url = deep_link(bot_username, intent_id, tag)
    return InlineKeyboardMarkup([[InlineKeyboardButton(knowledge.message("ask_button"), url=url)]])
