"""Inline keyboards and the short, prefixed callback data behind their buttons.

Callback data (at most 64 bytes, matched with anchored patterns):
  ``a:<intent_id>``  answer that intent        ``n``  "none of these" -> fallback
  ``t``              topics: the categories    ``t:<n>``  topics: the n-th category
  ``f:<event>:y|n``  helpful / not helpful     ``h``, ``h:send``, ``h:new``  talk to a person
  ``p:<intent_id>``  admin: publish to channel ``p:cancel``  admin: do not publish
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine import Reply, ReplyKind
from bot.knowledge import Knowledge

ANSWER_PATTERN = re.compile(r"^a:([a-z][a-z0-9_]*)$")
TOPICS_PATTERN = re.compile(r"^t(?::(\d+))?$")
FEEDBACK_PATTERN = re.compile(r"^f:(\d{1,18}):([yn])$")
HANDOFF_PATTERN = re.compile(r"^h(?::(send|new))?$")
PUBLISH_PATTERN = re.compile(r"^p:([a-z][a-z0-9_]*)$")
NONE_OF_THESE = "n"
TOPICS = "t"
HANDOFF = "h"
CANCEL_POST = "p:cancel"
_PAYLOAD = re.compile(r"^([a-z][a-z0-9_]*)(?:-([A-Za-z0-9_-]{1,40}))?$")


def answer_data(intent_id: str) -> str:
    """Callback data of a button that answers ``intent_id``."""
    return f"a:{intent_id}"


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
        [InlineKeyboardButton(s.label, callback_data=answer_data(s.intent_id))]
        for s in reply.suggestions
        # Two buttons of one label that do different things confuse: the handoff wins.
        if not (offers_handoff and s.label.strip() == human)
    ]
    if reply.kind is ReplyKind.CLARIFY:
        rows.append(
            [InlineKeyboardButton(knowledge.message("none_of_these"), callback_data=NONE_OF_THESE)]
        )
    if reply.kind is ReplyKind.FALLBACK:
        rows.append(
            [InlineKeyboardButton(knowledge.message("topics_button"), callback_data=TOPICS)]
        )
        if handoff:
            rows.append(
                [InlineKeyboardButton(knowledge.message("human_button"), callback_data=HANDOFF)]
            )
    booking = booking_url(knowledge)
    if booking and reply.kind is ReplyKind.ANSWER:
        rows.append([InlineKeyboardButton(knowledge.message("book_button"), url=booking)])
    if event_id is not None and reply.kind is ReplyKind.ANSWER:
        rows.append(feedback_row(knowledge, event_id))
    return InlineKeyboardMarkup(rows) if rows else None


def feedback_row(knowledge: Knowledge, event_id: int) -> list[InlineKeyboardButton]:
    """The small "Helpful? Yes / No" pair under an answer."""
    return [
        InlineKeyboardButton(knowledge.message("feedback_yes"), callback_data=f"f:{event_id}:y"),
        InlineKeyboardButton(knowledge.message("feedback_no"), callback_data=f"f:{event_id}:n"),
    ]


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard with the feedback pair removed, once the user has voted."""
    if markup is None:
        return None
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(FEEDBACK_PATTERN.match(str(b.callback_data or "")) for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def choice_keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of (label, callback data) buttons, e.g. Publish / Cancel."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]]
    )


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
        [
            [InlineKeyboardButton(name, callback_data=f"{TOPICS}:{index}")]
            for index, name in enumerate(categories)
        ]
    )


def category_keyboard(knowledge: Knowledge, index: int) -> InlineKeyboardMarkup | None:
    """Intents of the ``index``-th category plus a back button; None if there is none."""
    categories = list(knowledge.categories().values())
    if not 0 <= index < len(categories):
        return None
    rows = [
        [InlineKeyboardButton(knowledge.title(intent_id), callback_data=answer_data(intent_id))]
        for intent_id in categories[index]
    ]
    rows.append([InlineKeyboardButton(knowledge.message("back"), callback_data=TOPICS)])
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
