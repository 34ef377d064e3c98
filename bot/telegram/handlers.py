"""Telegram callbacks: read the update, ask the engine, reply. No decisions are made here.

Message text is never logged: patients may write about their health.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.engine import DialogueEngine, Reply
from bot.knowledge import Knowledge
from bot.telegram import keyboards
from bot.telegram_html import plain_text, split_message

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
ENGINE_KEY = "engine"
MAX_INLINE_RESULTS = 10
_DESCRIPTION_LENGTH = 90


def engine_of(context: Context) -> DialogueEngine:
    """The shared engine, kept in bot_data so a content reload can swap it."""
    engine: DialogueEngine = context.bot_data[ENGINE_KEY]
    return engine


async def send_reply(
    message: Message, reply: Reply, context: Context, *, quote: bool = False
) -> None:
    """Send an engine reply; long text is split at paragraphs, buttons go under the last part."""
    knowledge = engine_of(context).knowledge
    parts = split_message(reply.text)
    markup = keyboards.reply_keyboard(reply, knowledge)
    for number, part in enumerate(parts, start=1):
        await message.reply_text(
            part,
            reply_markup=markup if number == len(parts) else None,
            do_quote=quote and number == 1,
        )
    log.debug(
        "replied kind=%s intent=%s score=%.1f", reply.kind.value, reply.intent_id, reply.score
    )


async def start(update: Update, context: Context) -> None:
    """Welcome the user, or answer the topic a deep link (/start <intent_id>) points at."""
    message = update.effective_message
    if message is None:
        return
    engine = engine_of(context)
    parsed = keyboards.parse_start_payload(context.args[0]) if context.args else None
    if parsed and parsed[0] in engine.knowledge.responses:
        log.info("deep link opened intent=%s tag=%s", parsed[0], parsed[1])
        await send_reply(message, engine.answer(parsed[0]), context)
        return
    await send_reply(message, engine.welcome(), context)


async def help_command(update: Update, context: Context) -> None:
    """List what the bot can help with, derived from the content."""
    if update.effective_message:
        await update.effective_message.reply_text(help_text(engine_of(context).knowledge))


def help_text(knowledge: Knowledge) -> str:
    """The /help text: the intro, every topic by category, and the commands."""
    lines = [knowledge.message("help"), ""]
    for category, intent_ids in knowledge.categories().items():
        titles = ", ".join(html.escape(knowledge.title(i), quote=False) for i in intent_ids)
        lines.append(f"<b>{html.escape(category, quote=False)}</b>: {titles}")
    lines.append("")
    lines += [
        f"/{name} - {html.escape(text, quote=False)}" for name, text in knowledge.commands.items()
    ]
    return "\n".join(lines)


async def topics_command(update: Update, context: Context) -> None:
    """Show the topic categories as buttons."""
    if update.effective_message:
        knowledge = engine_of(context).knowledge
        await update.effective_message.reply_text(
            knowledge.message("topics"), reply_markup=keyboards.categories_keyboard(knowledge)
        )


async def book_command(update: Update, context: Context) -> None:
    """How to book, with the booking link as a button."""
    if update.effective_message:
        knowledge = engine_of(context).knowledge
        await update.effective_message.reply_text(
            knowledge.message("book"), reply_markup=keyboards.booking_keyboard(knowledge)
        )


async def privacy_command(update: Update, context: Context) -> None:
    """Say what the bot stores."""
    if update.effective_message:
        await update.effective_message.reply_text(engine_of(context).knowledge.message("privacy"))


async def private_text(update: Update, context: Context) -> None:
    """Answer a free-text question in a private chat."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await send_reply(message, engine_of(context).respond(message.text), context)


async def group_text(update: Update, context: Context) -> None:
    """Answer in a group only when addressed: a mention of the bot or a reply to it."""
    message = update.effective_message
    if message is None or not message.text:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is None:
        return
    engine = engine_of(context)
    reply = engine.respond(question) if question.strip() else engine.welcome()
    await send_reply(message, reply, context, quote=True)


def addressed_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question with the bot's @mention removed, or None if the bot was not addressed."""
    text = message.text or ""
    replied = message.reply_to_message
    is_reply_to_bot = bool(replied and replied.from_user and replied.from_user.id == bot_id)
    mention = f"@{bot_username}".lower()
    mentions = message.parse_entities([MessageEntity.MENTION])
    mentioned = any(value.lower() == mention for value in mentions.values())
    if not (mentioned or is_reply_to_bot):
        return None
    return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()


async def on_button(update: Update, context: Context) -> None:
    """Handle our buttons: answer first (no endless spinner), then act."""
    query = update.callback_query
    if query is None:
        return
    engine = engine_of(context)
    knowledge = engine.knowledge
    data = query.data or ""
    message = query.message if isinstance(query.message, Message) else None
    answer = keyboards.ANSWER_PATTERN.match(data)
    topics = keyboards.TOPICS_PATTERN.match(data)
    if answer and answer.group(1) in knowledge.responses and message:
        await query.answer()
        await send_reply(message, engine.answer(answer.group(1)), context)
    elif data == keyboards.NONE_OF_THESE and message:
        await query.answer()
        await send_reply(message, engine.fallback(), context)
    elif topics and message:
        await _show_topics(query, message, knowledge, topics.group(1))
    else:
        await query.answer(_toast(knowledge.message("stale_button")), show_alert=False)


async def _show_topics(
    query: CallbackQuery, message: Message, knowledge: Knowledge, index: str | None
) -> None:
    """Navigate the topics menu by editing the menu message in place."""
    if index is None:
        text, markup = knowledge.message("topics"), keyboards.categories_keyboard(knowledge)
    else:
        category = keyboards.category_keyboard(knowledge, int(index))
        if category is None:
            await query.answer(_toast(knowledge.message("stale_button")))
            return
        name = list(knowledge.categories())[int(index)]
        text, markup = f"<b>{html.escape(name)}</b>", category
    await query.answer()
    await _edit_or_send(message, text, markup)


async def _edit_or_send(message: Message, text: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return  # the same button pressed twice: the menu already shows it
        # Too old to edit (or not ours to edit): a fresh menu message works everywhere.
        await message.reply_text(text, reply_markup=markup)


def _toast(text: str) -> str:
    # Callback answers are plain text, at most 200 characters.
    return plain_text(text).strip()[:200]


async def on_inline_query(update: Update, context: Context) -> None:
    """Offer matching answers for ``@bot question``; popular topics for an empty query."""
    query = update.inline_query
    if query is None:
        return
    engine = engine_of(context)
    knowledge = engine.knowledge
    intent_ids = engine.topics_for(query.query, limit=MAX_INLINE_RESULTS)
    results = [
        InlineQueryResultArticle(
            id=intent_id,
            title=knowledge.title(intent_id),
            description=_describe(knowledge.responses[intent_id].answer),
            input_message_content=InputTextMessageContent(knowledge.responses[intent_id].answer),
            reply_markup=keyboards.ask_keyboard(
                knowledge, context.bot.username, intent_id, "inline"
            ),
        )
        for intent_id in intent_ids
    ]
    await query.answer(results, cache_time=300, is_personal=False)


def _describe(answer: str) -> str:
    first = plain_text(answer).strip().split("\n", 1)[0]
    return (
        first
        if len(first) <= _DESCRIPTION_LENGTH
        else first[: _DESCRIPTION_LENGTH - 1].rstrip() + "\u2026"
    )


async def unsupported_media(update: Update, context: Context) -> None:
    """Photos, stickers, voice notes, locations: say politely that we read text."""
    if update.effective_message:
        await update.effective_message.reply_text(
            engine_of(context).knowledge.message("unsupported_media")
        )


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its traceback (never the user's text) and apologise in private chats."""
    kind = type(update).__name__ if not isinstance(update, Update) else _update_kind(update)
    log.error("error while handling %s", kind, exc_info=context.error)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == ChatType.PRIVATE
    ):
        try:
            await context.bot.send_message(
                update.effective_chat.id, engine_of(context).knowledge.message("error")
            )
        except Exception:  # the apology is best effort; the error itself is already logged
            log.warning("could not send the error apology", exc_info=True)


def _update_kind(update: Update) -> str:
    for kind in ("message", "edited_message", "callback_query", "inline_query", "channel_post"):
        if getattr(update, kind) is not None:
            return f"update {update.update_id} ({kind})"
    return f"update {update.update_id}"
