"""The channel's discussion group: answer clear questions in comments, stay silent otherwise."""

from __future__ import annotations

import logging

from telegram import Update

from bot.analytics.records import Source
from bot.engine import ReplyKind
from bot.nlu.units import looks_like_question
from bot.telegram import keyboards
from bot.telegram.context import BotContext
from bot.telegram.services import track

log = logging.getLogger(__name__)
# Comments are public and unsolicited: answer only when the match is well above the
# ordinary answer threshold.
MIN_COMMENT_SCORE = 75.0


async def on_channel_post_copy(update: Update, context: BotContext) -> None:
    """Telegram copies each channel post into the linked group: that tells us the group (the
    post itself is never answered)."""
    message = update.effective_message
    channel = context.settings.channel_id
    sender = message.sender_chat if message else None
    if message is None or channel is None or sender is None:
        return
    if sender.id == channel or (
        isinstance(channel, str)
        and sender.username
        and f"@{sender.username}".lower() == channel.lower()
    ):
        if context.bot_data.discussion_chat_id != message.chat_id:
            log.info("discussion group identified")
        context.bot_data.discussion_chat_id = message.chat_id


async def on_comment(update: Update, context: BotContext) -> None:
    """A group message not addressed to the bot: in the channel's discussion group, reply to
    a comment that clearly asks one of our questions; otherwise (and elsewhere) say nothing."""
    message = update.effective_message
    if message is None or message.chat_id != context.bot_data.discussion_chat_id:
        return
    text = message.text or ""
    if not context.settings.discussion_replies or not looks_like_question(text):
        return
    engine = context.engine
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
