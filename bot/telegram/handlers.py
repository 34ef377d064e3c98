"""Telegram callbacks for patients: read the update, ask the engine, reply, record the event.

Message text is never logged: patients may write about their health.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import filters

from bot.analytics.records import Source, Vote
from bot.content.html_text import plain_text, split_message
from bot.content.knowledge import Knowledge
from bot.engine import Reply, ReplyKind
from bot.telegram import handoff, keyboards
from bot.telegram.context import BotContext
from bot.telegram.services import pressed_button, toast, track

log = logging.getLogger(__name__)
MAX_INLINE_RESULTS = 10
_DESCRIPTION_LENGTH = 90
# Telegram's shared sender of anonymous group admins (GroupAnonymousBot).
ANONYMOUS_ADMIN_ID = 1087968824


async def send_reply(
    message: Message,
    reply: Reply,
    context: BotContext,
    *,
    quote: bool = False,
    event_id: int | None = None,
) -> Message:
    """Send an engine reply; long text is split at paragraphs, buttons go under the last part.
    Returns the message that carries the buttons."""
    knowledge = context.engine.knowledge
    parts = split_message(reply.text)
    handoff_possible = context.staff_chat_id is not None and message.chat.type == ChatType.PRIVATE
    markup = keyboards.reply_keyboard(reply, knowledge, event_id, handoff=handoff_possible)
    sent = message
    for number, part in enumerate(parts, start=1):
        sent = await message.reply_text(
            part,
            reply_markup=markup if number == len(parts) else None,
            do_quote=quote and number == 1,
        )
    log.debug(
        "replied kind=%s intent=%s score=%.1f", reply.kind.value, reply.intent_id, reply.score
    )
    return sent


async def answer_and_track(
    update: Update,
    message: Message,
    context: BotContext,
    reply: Reply,
    source: Source,
    *,
    tag: str | None = None,
    question: str | None = None,
    quote: bool = False,
) -> None:
    """Record the reply as an event, then send it with its "Helpful?" buttons."""
    event_id = track(update, context, reply, source, tag=tag, question=question)
    if reply.kind is ReplyKind.FALLBACK and question:
        context.user.last_unanswered = question
    sent = await send_reply(message, reply, context, quote=quote, event_id=event_id)
    if reply.kind is ReplyKind.CLARIFY and question:
        # "None of these" under this message is about this question, whatever came since.
        context.user.remember_clarified(sent.message_id, question)


async def on_start(update: Update, context: BotContext) -> None:
    """Welcome the user, or answer the topic a deep link (/start <intent_id>-<tag>) points at."""
    message = update.effective_message
    if message is None:
        return
    engine = context.engine
    parsed = keyboards.parse_start_payload(context.args[0]) if context.args else None
    if parsed and parsed[0] in engine.knowledge.responses:
        intent_id, tag = parsed
        await answer_and_track(
            update, message, context, engine.answer(intent_id), Source.DEEP_LINK, tag=tag
        )
        return
    await send_reply(message, engine.welcome(), context)


async def on_help(update: Update, context: BotContext) -> None:
    """List what the bot can help with, derived from the content."""
    if update.effective_message:
        await update.effective_message.reply_text(help_text(context.engine.knowledge))


def help_text(knowledge: Knowledge) -> str:
    """The /help text: the intro, every topic by category, and the commands."""
    lines = [knowledge.message("help"), "", *knowledge.topic_overview(), ""]
    lines += [
        f"/{name} - {html.escape(text, quote=False)}" for name, text in knowledge.commands.items()
    ]
    return "\n".join(lines)


async def on_topics(update: Update, context: BotContext) -> None:
    """Show the topic categories as buttons."""
    if update.effective_message:
        knowledge = context.engine.knowledge
        await update.effective_message.reply_text(
            knowledge.message("topics"), reply_markup=keyboards.categories_keyboard(knowledge)
        )


async def on_book(update: Update, context: BotContext) -> None:
    """How to book, with the booking link as a button."""
    if update.effective_message:
        knowledge = context.engine.knowledge
        await update.effective_message.reply_text(
            knowledge.message("book"), reply_markup=keyboards.booking_keyboard(knowledge)
        )


async def on_privacy(update: Update, context: BotContext) -> None:
    """Say what the bot stores."""
    if update.effective_message:
        days = context.settings.retention_days
        text = context.engine.knowledge.say("privacy", retention_days=days)
        await update.effective_message.reply_text(text)


async def on_forget(update: Update, context: BotContext) -> None:
    """Delete everything stored about the user."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    if message.sender_chat is not None or update.effective_user.id == ANONYMOUS_ADMIN_ID:
        # Sent as a group or channel (an anonymous admin): Telegram gives every such sender
        # one shared user id, so whose data to delete is unknown. Only a person can ask.
        await message.reply_text(context.engine.knowledge.message("forget_anonymous"))
        return
    database = context.database
    deleted = await database.call(database.store.forget_user, update.effective_user.id)
    context.user.clear()
    log.info("a user asked to be forgotten: %d rows deleted", deleted)
    await message.reply_text(context.engine.knowledge.say("forget_done", count=deleted))


async def on_private_text(update: Update, context: BotContext) -> None:
    """Answer a free-text question in a private chat (or pass it on after "Talk to a person")."""
    message = update.effective_message
    if message is None or not message.text or update.effective_user is None:
        return
    if context.user.takes_question():  # "type your question for the team" came just before
        await handoff.send_to_staff(message, update.effective_user, context, message.text)
        return
    reply = context.engine.respond(message.text)
    await answer_and_track(update, message, context, reply, Source.PRIVATE, question=message.text)


async def on_group_text(update: Update, context: BotContext) -> None:
    """A group message addressed to the bot (an @mention, or a reply to it): answer it."""
    message = update.effective_message
    if message is None or not message.text:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is None:
        return
    engine = context.engine
    if not question.strip():
        await send_reply(message, engine.welcome(), context, quote=True)
        return
    reply = engine.respond(question)
    await answer_and_track(
        update, message, context, reply, Source.GROUP, question=question, quote=True
    )


class _AddressedToBot(filters.MessageFilter):
    """Group messages that @mention the bot or reply to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        return addressed_question(message, bot.username, bot.id) is not None


ADDRESSED = _AddressedToBot(name="addressed_to_the_bot")


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


async def on_answer_button(update: Update, context: BotContext) -> None:
    """A topic button (follow-ups, the topics menu, "did you mean"): answer that topic."""
    pressed = await pressed_button(update, context, keyboards.Answer.parse)
    if pressed is None:
        return
    query, message, data = pressed
    engine = context.engine
    if data.intent_id not in engine.knowledge.responses:  # a topic removed since
        await query.answer(toast(engine.knowledge.message("stale_button")))
        return
    await query.answer()
    await answer_and_track(update, message, context, engine.answer(data.intent_id), Source.BUTTON)


async def on_none_of_these(update: Update, context: BotContext) -> None:
    """Under a "did you mean": the fallback, remembering the question it was shown for."""
    pressed = await pressed_button(update, context, lambda data: data)
    if pressed is None:
        return
    query, message, _ = pressed
    await query.answer()
    last = context.user.clarified.get(message.message_id)
    reply = context.engine.fallback()
    await answer_and_track(update, message, context, reply, Source.BUTTON, question=last)


async def on_topics_button(update: Update, context: BotContext) -> None:
    """Navigate the topics menu by editing the menu message in place."""
    pressed = await pressed_button(update, context, keyboards.Topics.parse)
    if pressed is None:
        return
    query, message, data = pressed
    knowledge = context.engine.knowledge
    if data.category is None:
        text, markup = knowledge.message("topics"), keyboards.categories_keyboard(knowledge)
    else:
        category = keyboards.category_keyboard(knowledge, data.category)
        if category is None:  # the categories changed since the menu was sent
            await query.answer(toast(knowledge.message("stale_button")))
            return
        name = list(knowledge.categories())[data.category]
        text, markup = f"<b>{html.escape(name, quote=False)}</b>", category
    await query.answer()
    await _edit_or_send(message, text, markup)


async def on_feedback_button(update: Update, context: BotContext) -> None:
    """Helpful / not helpful under an answer: kept once, then the pair goes."""
    pressed = await pressed_button(update, context, keyboards.Feedback.parse)
    if pressed is None:
        return
    query, message, data = pressed
    knowledge = context.engine.knowledge
    database = context.database
    # In order after the event's own (queued) write: a quick tap still finds its answer.
    vote = await database.call(
        database.store.set_feedback, data.event_id, query.from_user.id, data.helpful
    )
    said = {
        Vote.SAVED: "feedback_thanks",
        Vote.ALREADY: "feedback_already",
        Vote.UNKNOWN: "stale_button",
    }[vote]
    await query.answer(toast(knowledge.message(said)))
    if vote is not Vote.UNKNOWN:
        try:
            await message.edit_reply_markup(
                reply_markup=keyboards.without_feedback(message.reply_markup)
            )
        except BadRequest:
            log.debug("could not remove the feedback buttons", exc_info=True)


async def on_stale_button(update: Update, context: BotContext) -> None:
    """Any other button (from an older version of the bot, or forged): a polite toast."""
    query = update.callback_query
    if query is not None:
        await query.answer(toast(context.engine.knowledge.message("stale_button")))


async def _edit_or_send(message: Message, text: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return  # the same button pressed twice: the menu already shows it
        # Too old to edit (or not ours to edit): a fresh menu message works everywhere.
        await message.reply_text(text, reply_markup=markup)


async def on_inline_query(update: Update, context: BotContext) -> None:
    """Offer matching answers for ``@bot question``; popular topics for an empty query."""
    query = update.inline_query
    if query is None:
        return
    engine = context.engine
    knowledge = engine.knowledge
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
        for intent_id in engine.topics_for(query.query, limit=MAX_INLINE_RESULTS)
    ]
    await query.answer(results, cache_time=300, is_personal=False)


async def on_inline_result(update: Update, context: BotContext) -> None:
    """Count an inline answer once the user actually sends it (needs /setinlinefeedback)."""
    chosen = update.chosen_inline_result
    engine = context.engine
    if chosen and chosen.result_id in engine.knowledge.responses:
        track(update, context, engine.answer(chosen.result_id), Source.INLINE, tag="inline")


def _describe(answer: str) -> str:
    first = plain_text(answer).strip().split("\n", 1)[0]
    return (
        first
        if len(first) <= _DESCRIPTION_LENGTH
        else first[: _DESCRIPTION_LENGTH - 1].rstrip() + "\u2026"
    )


async def on_unsupported_media(update: Update, context: BotContext) -> None:
    """Photos, stickers, voice notes, locations: say politely that we read text."""
    if update.effective_message:
        await update.effective_message.reply_text(
            context.engine.knowledge.message("unsupported_media")
        )


async def on_error(update: object, context: BotContext) -> None:
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
                update.effective_chat.id, context.engine.knowledge.message("error")
            )
        except Exception:  # the apology is best effort; the error itself is already logged
            log.warning("could not send the error apology", exc_info=True)


def _update_kind(update: Update) -> str:
    for kind in ("message", "edited_message", "callback_query", "inline_query", "channel_post"):
        if getattr(update, kind) is not None:
            return f"update {update.update_id} ({kind})"
    return f"update {update.update_id}"
