"""The channel's discussion group: answer clear questions in comments, stay silent otherwise."""

from __future__ import annotations

import logging

from telegram import Message, Update

from bot.analytics.store import Source
from bot.engine import ReplyKind
from bot.nlu.units import looks_like_question
from bot.telegram import keyboards
from bot.telegram.services import DISCUSSION_CHAT, Context, engine_of, settings_of, track

log = logging.getLogger(__name__)
# Comments are public and unsolicited: answer only when the match is well above the
# ordinary answer threshold.
MIN_COMMENT_SCORE = 75.0


def learn_from_forward(message: Message, context: Context) -> None:
    """Telegram copies each channel post into the linked group: that tells us the group."""
    channel = settings_of(context).channel_id
    sender = message.sender_chat
    if channel is None or sender is None:
        return
    if sender.id == channel or (
        isinstance(channel, str)
        and sender.username
        and f"@{sender.username}".lower() == channel.lower()
    ):
        if context.bot_data.get(DISCUSSION_CHAT) != message.chat_id:
            log.info("discussion group identified")
        context.bot_data[DISCUSSION_CHAT] = message.chat_id


def is_discussion(message: Message, context: Context) -> bool:
    """Whether a message was written in the channel's discussion group."""
    return message.chat_id == context.bot_data.get(DISCUSSION_CHAT)


async def answer_comment(update: Update, message: Message, context: Context) -> None:
    """Reply to a comment that clearly asks one of our questions; otherwise say nothing."""
    text = message.text or ""
    if not settings_of(context).discussion_replies or not looks_like_question(text):
        return
    engine = engine_of(context)
    reply = engine.respond(text)
    if (
        reply.kind is not ReplyKind.ANSWER
        or reply.intent_id is None
        or reply.score < MIN_COMMENT_SCORE
    ):
        return
    track(update, context, reply, Source.DISCUSSION, question=text)
    markup = keyboards.ask_keyboard(
        engine.knowledge, context.bot.username, reply.intent_id, "discussion"
    )
    await message.reply_text(reply.text, reply_markup=markup, do_quote=True)
