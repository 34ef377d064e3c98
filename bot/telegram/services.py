"""What handlers share: the admin check and guard, topic titles, button presses, toasts, and
event tracking."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, TypeVar

from telegram import CallbackQuery, Message, Update

from bot.analytics.records import Source
from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.engine import Reply
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)
D = TypeVar("D")


def is_admin(update: Update, context: BotContext) -> bool:
    """Admins are known by numeric user id (usernames can be changed or taken over)."""
    user = update.effective_user
    return user is not None and user.id in context.settings.admin_ids


def toast(text: str) -> str:
    """A callback answer (a toast): plain text, at most 200 characters."""
    return plain_text(text).strip()[:200]


async def pressed_button(
    update: Update, context: BotContext, parse: Callable[[str], D | None]
) -> tuple[CallbackQuery, Message, D] | None:
    """The press, the message the button is under and its parsed data; None after an "out
    of date" toast when the message is gone (too old) or the data does not parse."""
    query = update.callback_query
    if query is None:
        return None
    data = parse(query.data or "")
    if not isinstance(query.message, Message) or data is None:
        await query.answer(toast(context.engine.knowledge.message("stale_button")))
        return None
    return query, query.message, data


def track(
    update: Update,
    context: BotContext,
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
        return context.database.record(
            update_id=update.update_id,
            user_id=user.id if user else None,
            chat_type=chat.type if chat else "inline",
            source=source,
            decision=reply.kind,
            intent_id=reply.intent_id,
            score=reply.score,
            tag=tag,
            text=question,
        )
    except Exception:  # analytics must never cost a patient their answer
        log.exception("could not queue an analytics event")
        return None


Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def admin_only(callback: Callback) -> Callback:
    """Run the command for admins; everyone else gets a polite refusal."""

    @wraps(callback)
    async def guarded(update: Update, context: BotContext) -> None:
        if is_admin(update, context):
            await callback(update, context)
        elif update.effective_message:
            await update.effective_message.reply_text(
                context.engine.knowledge.message("admin_only")
            )

    return guarded


def titles(knowledge: Knowledge) -> dict[str, str]:
    """Intent id -> button title, for reports."""
    return {intent_id: response.title for intent_id, response in knowledge.responses.items()}
