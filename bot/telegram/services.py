"""The services handlers share through ``bot_data`` (never module globals), and event tracking."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.ext import ContextTypes

from bot.analytics.background import DatabaseWorker
from bot.analytics.store import Decision, Source
from bot.engine import DialogueEngine, Reply, ReplyKind
from bot.telegram.settings import BotSettings
from bot.telegram_html import plain_text

log = logging.getLogger(__name__)
D = TypeVar("D")
Context = ContextTypes.DEFAULT_TYPE

ENGINE = "engine"
STORE = "store"
SETTINGS = "settings"
CONTENT_DIR = "content_dir"
DISCUSSION_CHAT = "discussion_chat_id"
STAFF_UNREACHABLE = "staff_chat_unreachable"
STORE_DAMAGED = "analytics_store_damaged"
# user_data: the question each "did you mean" message asked about, for its "None of these".
CLARIFIED = "clarified_questions"

_DECISIONS = {
    ReplyKind.ANSWER: Decision.ANSWER,
    ReplyKind.CLARIFY: Decision.CLARIFY,
    ReplyKind.FALLBACK: Decision.FALLBACK,
    ReplyKind.SAFETY: Decision.SAFETY,
    ReplyKind.SMALLTALK: Decision.SMALLTALK,
}


def engine_of(context: Context) -> DialogueEngine:
    """The current engine; /reload swaps it, so never keep a reference across updates."""
    engine: DialogueEngine = context.bot_data[ENGINE]
    return engine


def database_of(context: Context) -> DatabaseWorker:
    """The analytics and handoff database, called through its own thread (never on the loop)."""
    database: DatabaseWorker = context.bot_data[STORE]
    return database


def settings_of(context: Context) -> BotSettings:
    """Deployment settings read at start-up."""
    settings: BotSettings = context.bot_data[SETTINGS]
    return settings


def staff_chat_of(context: Context) -> int | None:
    """The staff chat, when one is set and was reachable when last tried."""
    if context.bot_data.get(STAFF_UNREACHABLE):
        return None
    return settings_of(context).staff_chat_id


def content_dir_of(context: Context) -> Path:
    """Where /reload reads the content from."""
    path: Path = context.bot_data[CONTENT_DIR]
    return path


def is_admin(update: Update, context: Context) -> bool:
    """Admins are known by numeric user id (usernames can be changed or taken over)."""
    user = update.effective_user
    return user is not None and user.id in settings_of(context).admin_ids


def toast(text: str) -> str:
    """A callback answer (a toast): plain text, at most 200 characters."""
    return plain_text(text).strip()[:200]


async def pressed_button(
    update: Update, context: Context, parse: Callable[[str], D | None]
) -> tuple[CallbackQuery, Message, D] | None:
    """The press, the message the button is under and its parsed data; None after an "out
    of date" toast when the message is gone (too old) or the data does not parse."""
    query = update.callback_query
    if query is None:
        return None
    data = parse(query.data or "")
    if not isinstance(query.message, Message) or data is None:
        await query.answer(toast(engine_of(context).knowledge.message("stale_button")))
        return None
    return query, query.message, data


def track(
    update: Update,
    context: Context,
    reply: Reply,
    source: Source,
    *,
    tag: str | None = None,
    question: str | None = None,
) -> int | None:
    """Queue one reply's analytics event (the store keeps text only for fallbacks); return
    its id at once, for the reply's feedback buttons."""
    user = update.effective_user
    chat = update.effective_chat
    try:
        return database_of(context).record(
            user_id=user.id if user else None,
            chat_type=chat.type if chat else "inline",
            source=source,
            decision=_DECISIONS[reply.kind],
            intent_id=reply.intent_id,
            score=reply.score,
            tag=tag,
            text=question,
        )
    except Exception:  # analytics must never cost a patient their answer
        log.exception("could not queue an analytics event")
        return None
