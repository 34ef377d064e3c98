"""Talk to a person: pass a patient's question to the staff chat, relay the staff's reply.

The staff message -> patient chat mapping lives in the database, so a reply still reaches
the patient after the bot restarts.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime

from telegram import Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.content.html_text import plain_text, split_message
from bot.content.settings import describe_moment, next_opening
from bot.telegram import keyboards
from bot.telegram.context import BotContext
from bot.telegram.services import pressed_button, toast

log = logging.getLogger(__name__)


async def on_human(update: Update, context: BotContext) -> None:
    """/human: offer to pass a question to the clinic team; "/human <question>" sends it."""
    message = update.effective_message
    if message is None:
        return
    question = " ".join(context.args or []).strip()
    if question and update.effective_user is not None:
        await send_to_staff(message, update.effective_user, context, question)
        return
    await offer(message, context)


async def offer(message: Message, context: BotContext) -> None:
    """Offer the last unanswered question for sending, or ask for a new one."""
    knowledge = context.engine.knowledge
    if context.staff_chat_id is None:
        await message.reply_text(knowledge.message("handoff_unavailable"))
        return
    last = context.user.last_unanswered
    if last:
        text = f"{knowledge.message('handoff_confirm')}\n\n<i>{html.escape(last, quote=False)}</i>"
        markup = keyboards.choice_keyboard(
            keyboards.button(knowledge.message("handoff_send"), keyboards.Handoff("send")),
            keyboards.button(knowledge.message("handoff_new"), keyboards.Handoff("new")),
        )
        await message.reply_text(split_message(text)[0], reply_markup=markup)
        return
    context.user.await_question()
    await message.reply_text(knowledge.message("handoff_ask"))


async def on_handoff_button(update: Update, context: BotContext) -> None:
    """The "Talk to a person", "Send it" and "Ask something else" buttons."""
    pressed = await pressed_button(update, context, keyboards.Handoff.parse)
    if pressed is None:
        return
    query, message, data = pressed
    if message.chat.type != ChatType.PRIVATE:
        # Only offered in private chats; one pressed elsewhere (forged into a group) must
        # never post the patient's private question where others read it.
        await query.answer(toast(context.engine.knowledge.message("stale_button")))
        return
    await query.answer()
    await _on_choice(message, query.from_user, context, data.choice)


async def _on_choice(
    message: Message, user: User, context: BotContext, choice: keyboards.HandoffChoice | None
) -> None:
    state = context.user
    if choice == "send" and state.last_unanswered:
        question, state.last_unanswered = state.last_unanswered, None
        await send_to_staff(message, user, context, question)
    elif choice == "new" or choice == "send":
        state.last_unanswered = None
        state.await_question()
        await message.reply_text(context.engine.knowledge.message("handoff_ask"))
    else:
        await offer(message, context)


async def on_any_command(update: Update, context: BotContext) -> None:
    """A command ends "type your question for the team": the next message is a new topic."""
    context.user.awaiting_since = None


async def send_to_staff(message: Message, user: User, context: BotContext, question: str) -> None:
    """Post the question (with the first name only) to the staff chat; tell the user what's next."""
    knowledge = context.engine.knowledge
    staff_chat_id = context.staff_chat_id
    if staff_chat_id is None:
        await message.reply_text(knowledge.message("handoff_unavailable"))
        return
    text = knowledge.say("handoff_to_staff", name=user.first_name, question=question)
    try:
        for part in split_message(text):
            sent = await context.bot.send_message(staff_chat_id, part)
            # Every part maps back: staff may reply to whichever part they read last.
            database = context.database
            database.later(
                database.store.save_handoff,
                staff_chat_id=staff_chat_id,
                staff_message_id=sent.message_id,
                user_chat_id=message.chat_id,
                user_id=user.id,
            )
    except (BadRequest, Forbidden) as exc:
        # The staff chat is gone or the bot was removed from it ("chat not found"): keep
        # the patient's question, tell them how to reach the clinic, stop offering handoff.
        log.warning("the staff chat cannot be reached (%s): handoff is off until it can", exc)
        context.bot_data.staff_unreachable = True
        context.user.last_unanswered = question
        await message.reply_text(knowledge.message("handoff_failed"))
        return
    log.info("question passed to staff")
    confirmation = knowledge.message("handoff_sent")
    now = datetime.now(UTC)
    opening = next_opening(knowledge.settings, now)
    if opening is not None:
        after_hours = knowledge.say("handoff_after_hours", opening=describe_moment(opening, now))
        confirmation = f"{confirmation}\n\n{after_hours}"
    await message.reply_text(confirmation)


def _is_handed_over_question(replied: Message, context: BotContext, template: str) -> bool:
    """Whether ``replied`` is one of our handed-off questions (by its sender and heading)."""
    sender = replied.from_user
    if sender is None or sender.id != context.bot.id or not replied.text:
        return False
    heading = plain_text(template.split("{name}", 1)[0]).strip()
    return bool(heading) and replied.text.startswith(heading)


async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A staff member replied to a handed-off question: relay the reply to the patient."""
    message = update.effective_message
    replied = message.reply_to_message if message else None
    if message is None or replied is None or not message.text:
        return
    database = context.database
    # Through the database thread: in order after the handoff's own (queued) write.
    user_chat_id = await database.call(
        database.store.handoff_chat, message.chat_id, replied.message_id
    )
    knowledge = context.engine.knowledge
    if user_chat_id is None:
        if _is_handed_over_question(replied, context, knowledge.message("handoff_to_staff")):
            # The link to the patient is gone (/forget, or older than the retention period):
            # say so, instead of letting the reply vanish.
            await message.reply_text(knowledge.message("staff_relay_forgotten"), do_quote=True)
        return  # otherwise an ordinary conversation among staff
    text = knowledge.say("staff_reply", reply=message.text)
    try:
        for part in split_message(text):
            await context.bot.send_message(user_chat_id, part)
    except TelegramError:
        log.warning("could not relay a staff reply", exc_info=True)
        await message.reply_text(knowledge.message("staff_relay_failed"), do_quote=True)
        return
    await message.reply_text(knowledge.message("staff_relayed"), do_quote=True)
