"""Admin commands (ids in ADMIN_IDS): stats, gaps, reload, channel posts; the weekly digest."""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import datetime

from rapidfuzz import fuzz, process
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.analytics.chart import chart_title, month_series, stats_chart_png
from bot.analytics.records import Stats
from bot.analytics.reports import gaps_report, stats_report
from bot.analytics.store import EventStore
from bot.content.changes import compare, content_counts
from bot.content.html_text import MAX_MESSAGE_LENGTH, split_message
from bot.content.knowledge import Knowledge
from bot.content.loader import check_content
from bot.content.messages import Html
from bot.content.problems import Severity
from bot.content.settings import clinic_zone
from bot.telegram import keyboards, teaching
from bot.telegram.context import BotContext
from bot.telegram.services import admin_only, is_admin, pressed_button, titles

log = logging.getLogger(__name__)
_MAX_LISTED_PROBLEMS = 25


async def stats_text(context: BotContext) -> str:
    """The /stats report for the last 7 and 30 days."""
    database = context.database
    week, month = await database.call(_week_and_month, database.store)
    return stats_report(week, month, titles(context.engine.knowledge))


def _week_and_month(store: EventStore) -> tuple[Stats, Stats]:
    return store.stats(7), store.stats(30)


async def gaps_text(context: BotContext) -> str:
    """The /gaps report: unanswered questions of the last 30 days, grouped."""
    return gaps_report(await teaching.current_gaps(context), titles(context.engine.knowledge))


@admin_only
async def on_stats(update: Update, context: BotContext) -> None:
    """Questions, answer and helpful rates, sources and posts; then the chart of the month."""
    message = update.effective_message
    if message is None:
        return
    database = context.database
    week, month = await database.call(_week_and_month, database.store)
    report = stats_report(week, month, titles(context.engine.knowledge))
    for part in split_message(report):
        await message.reply_text(part)
    caption = chart_title(context.engine.knowledge)
    await message.reply_photo(await stats_chart(context), caption=caption)


async def stats_chart(context: BotContext) -> bytes:
    """The chart PNG: its numbers read in the database thread, drawn in a worker thread, so
    other patients are answered meanwhile."""
    database, knowledge = context.database, context.engine.knowledge
    series = await database.call(month_series, database.store, knowledge)
    return await asyncio.to_thread(stats_chart_png, series, chart_title(knowledge))


@admin_only
async def on_reload(update: Update, context: BotContext) -> None:
    """Re-read and validate the content; swap it in only if it has no errors."""
    message = update.effective_message
    if message is None:
        return
    current = context.bot_data.content  # compared file to file: taught phrasings aside
    # Reading the files and training the matcher take seconds when the content changed:
    # off the event loop, so other users are answered meanwhile (by the old engine).
    knowledge, problems = await asyncio.to_thread(check_content, context.bot_data.content_dir)
    if knowledge is None:
        errors = [str(p) for p in problems if p.severity is Severity.ERROR]
        listed = "\n".join(
            f"• {html.escape(e, quote=False)}" for e in errors[:_MAX_LISTED_PROBLEMS]
        )
        more = len(errors) - _MAX_LISTED_PROBLEMS
        text = f"{current.message('admin_reload_failed')}\n\n{listed}" + (
            f"\n… and {more} more" if more > 0 else ""
        )
        for part in split_message(text):
            await message.reply_text(part)
        return
    changes = compare(content_counts(current), content_counts(knowledge))
    listed = "\n".join(f"• {html.escape(str(c), quote=False)}" for c in changes)
    confirmed = [a.lower() for a in context.args or []] == ["confirm"]
    if any(c.suspect for c in changes) and not confirmed:
        # A file cut off in an upload still parses; do not swap in half the safety net.
        log.warning("reload refused: the new content lost entries")
        await message.reply_text(f"{current.message('admin_reload_suspect')}\n\n{listed}")
        return
    context.bot_data.content = knowledge
    await teaching.retrain(context)
    log.info("content reloaded: %d intents", len(knowledge.intents))
    try:
        await set_command_menus(context.bot, knowledge, context.settings.admin_ids)
    except TelegramError as exc:
        # The content is swapped in and answering; only the menus lag until the next reload.
        log.warning("command menus not updated after the reload: %s", exc)
    examples = sum(len(i.examples) for i in knowledge.intents.values())
    reloaded = knowledge.say("admin_reloaded", intents=len(knowledge.intents), examples=examples)
    await message.reply_text(f"{reloaded}\n\n{listed}" if changes else reloaded)


async def set_command_menus(bot: Bot, knowledge: Knowledge, admin_ids: frozenset[int]) -> None:
    """Publish the command menus derived from the content: everyone's, groups', admins'."""
    commands = [BotCommand(name, text) for name, text in knowledge.commands.items()]
    await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
    private_only = {"privacy", "human", "forget"}
    await bot.set_my_commands(
        [c for c in commands if c.command not in private_only], scope=BotCommandScopeAllGroupChats()
    )
    admin_menu = commands + [
        BotCommand(name, text) for name, text in knowledge.admin_commands.items()
    ]
    for admin_id in admin_ids:
        try:
            await bot.set_my_commands(admin_menu, scope=BotCommandScopeChat(admin_id))
        except TelegramError:
            # An admin who never opened the bot has no chat yet; they get it on the next start.
            log.warning("could not set the admin command menu for one admin")


@admin_only
async def on_post(update: Update, context: BotContext) -> None:
    """/post <intent_id>: preview a channel card with Publish and Cancel buttons."""
    message = update.effective_message
    if (
        message is None
        or update.effective_chat is None
        or update.effective_chat.type != ChatType.PRIVATE
    ):
        return
    knowledge = context.engine.knowledge
    channel = context.settings.channel_id
    if channel is None:
        await message.reply_text(knowledge.message("admin_no_channel"))
        return
    if not context.args:
        await message.reply_text(knowledge.message("admin_post_usage"))
        return
    intent_id = context.args[0].strip().lower()
    if intent_id not in knowledge.responses:
        await message.reply_text(_unknown_topic(knowledge, intent_id))
        return
    await message.reply_text(knowledge.say("admin_post_preview", channel=str(channel)))
    database = context.database
    tag = await database.call(database.store.next_post_tag)
    markup = keyboards.ask_keyboard(knowledge, context.bot.username, intent_id, tag)
    controls = keyboards.choice_keyboard(
        keyboards.button(knowledge.message("admin_publish"), keyboards.Publish(intent_id)),
        keyboards.button(knowledge.message("admin_cancel"), keyboards.Publish(None)),
    )
    await message.reply_text(card_text(knowledge, intent_id), reply_markup=_stack(markup, controls))


def _stack(*markups: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([row for markup in markups for row in markup.inline_keyboard])


def card_text(knowledge: Knowledge, intent_id: str) -> str:
    """A channel card: the topic's title over its answer."""
    title = html.escape(knowledge.title(intent_id), quote=False)
    text = f"<b>{title}</b>\n\n{knowledge.responses[intent_id].answer}"
    return split_message(text, MAX_MESSAGE_LENGTH)[0]


def _unknown_topic(knowledge: Knowledge, wanted: str) -> str:
    choices = {intent_id: f"{intent_id} {r.title}" for intent_id, r in knowledge.responses.items()}
    closest = process.extract(wanted, choices, scorer=fuzz.WRatio, limit=3)
    suggestions = Html(", ".join(f"<code>{key}</code>" for _, _, key in closest))
    return knowledge.say("admin_unknown_topic", topic=wanted, suggestions=suggestions)


async def on_publish_button(update: Update, context: BotContext) -> None:
    """The preview's Publish or Cancel button; admins only."""
    pressed = await pressed_button(update, context, keyboards.Publish.parse)
    if pressed is None:
        return
    query, message, data = pressed
    intent_id = data.intent_id
    knowledge = context.engine.knowledge
    if not is_admin(update, context):
        await query.answer(knowledge.message("admin_only"))
        return
    await query.answer()
    try:
        await message.edit_reply_markup(reply_markup=None)  # a preview is published at most once
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
        # A double tap: the first press already took the buttons off and is publishing.
        log.info("publish pressed again on a preview already handled")
        return
    channel = context.settings.channel_id
    if intent_id is None or channel is None:
        await message.reply_text(knowledge.message("admin_cancelled"))
        return
    if intent_id not in knowledge.responses:
        await message.reply_text(_unknown_topic(knowledge, intent_id))
        return
    database = context.database
    tag = await database.call(database.store.next_post_tag)
    markup = keyboards.ask_keyboard(knowledge, context.bot.username, intent_id, tag)
    try:
        sent = await context.bot.send_message(
            channel, card_text(knowledge, intent_id), reply_markup=markup
        )
    except TelegramError as exc:
        log.warning("could not post to the channel: %s", exc)
        await message.reply_text(
            knowledge.say("admin_post_failed", channel=str(channel), reason=str(exc))
        )
        return
    post = await database.call(
        database.store.record_post,
        intent_id=intent_id,
        channel=str(channel),
        message_id=sent.message_id,
        tag=tag,
    )
    log.info("published %s to the channel as %s", intent_id, post.tag)
    await message.reply_text(knowledge.say("admin_published", channel=str(channel), tag=post.tag))


@admin_only
async def on_posts(update: Update, context: BotContext) -> None:
    """List what was published to the channel, newest first."""
    message = update.effective_message
    if message is None:
        return
    knowledge = context.engine.knowledge
    database = context.database
    posts = await database.call(database.store.posts)
    if not posts:
        await message.reply_text(knowledge.message("admin_no_posts"))
        return
    month = await database.call(database.store.stats, 30)
    visits = {post.id: count for post, count in month.post_visits}
    lines = []
    for post in posts:
        title = (
            knowledge.title(post.intent_id)
            if post.intent_id in knowledge.responses
            else post.intent_id
        )
        when = f"{post.published_at:%Y-%m-%d %H:%M} UTC"
        count = visits.get(post.id, 0)
        name = html.escape(title, quote=False)
        lines.append(f"• <b>{post.tag}</b> {name}: {when}, {count} visits in 30 days")
    await message.reply_text("\n".join(lines))


async def first_to_run(context: BotContext, job: str) -> bool:
    """Whether this worker runs ``job`` today: several workers sharing one database each
    schedule it, and the first to claim the day's run does it."""
    today = datetime.now(clinic_zone(context.engine.knowledge.settings)).date().isoformat()
    database = context.database
    return await database.call(database.store.claim_run, job, today)


async def on_weekly_digest(context: BotContext) -> None:
    """Job: send every admin the stats and the gaps of the week (one worker of several)."""
    if not await first_to_run(context, "digest"):
        return
    knowledge = context.engine.knowledge
    stats, gaps = await stats_text(context), await gaps_text(context)
    text = f"{knowledge.message('digest_intro')}\n\n{stats}\n\n{gaps}"
    if not context.settings.admin_ids:
        return
    chart = await stats_chart(context)
    for admin_id in context.settings.admin_ids:
        try:
            for part in split_message(text):
                await context.bot.send_message(admin_id, part)
            await context.bot.send_photo(admin_id, chart, caption=chart_title(knowledge))
        except TelegramError:
            log.warning("could not send the weekly digest to an admin", exc_info=True)


async def on_retention_purge(context: BotContext) -> None:
    """Job: delete stored question text older than the retention period, and the questions
    kept in conversation state (for a handoff, for "None of these"): those only matter for a
    day, and the state file must not become a second archive of patients' words."""
    database = context.database
    # The database by one worker; the questions kept in memory by every worker.
    changed = 0
    if await first_to_run(context, "retention"):
        changed = await database.call(database.store.purge_expired)
    cleared = []
    for user_id, data in context.application.user_data.items():
        if data.drop_questions():
            cleared.append(user_id)
    if cleared:
        context.application.mark_data_for_update_persistence(user_ids=cleared)
    log.info(
        "retention: %d stored rows and %d users' kept questions cleared", changed, len(cleared)
    )
