"""How the bot works, in one place: the Application, its services and its handlers, in order."""

from __future__ import annotations

import asyncio
import logging
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.exc import DatabaseError, OperationalError
from telegram import (
    LinkPreviewOptions,
    Update,
)
from telegram.constants import FloodLimit, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.analytics.background import TRY_TIMEOUT, DatabaseWorker
from bot.analytics.database_url import MEMORY
from bot.analytics.learning import with_lessons
from bot.analytics.store import EventStore
from bot.content.knowledge import Knowledge
from bot.content.settings import clinic_zone
from bot.engine import DialogueEngine
from bot.paths import default_content_dir
from bot.telegram import admin, discussion, handlers, handoff, inbox, keyboards, teaching
from bot.telegram.chat_order import ChatOrderedProcessor
from bot.telegram.context import BotApplication, BotContext, BotData, UserData
from bot.telegram.retrying_request import RetryingRequest
from bot.telegram.settings import BotSettings
from bot.telegram.token_watch import TokenRejectedError, WatchedRequest
from bot.telegram.user_state import DatabaseUserState
from bot.telegram.webhook import serve_webhook

log = logging.getLogger(__name__)

# Media we cannot read; answered with a polite "I answer text questions" in private chats.
_UNSUPPORTED_MEDIA = (
    filters.PHOTO
    | filters.Sticker.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.Document.ALL
    | filters.LOCATION
    | filters.CONTACT
    | filters.ANIMATION
)
# New messages only: an edited question is not answered again (see README, "Edited messages").
_NEW_MESSAGE = filters.UpdateType.MESSAGE
# A 5xx or a reset while starting (getMe, setWebhook) is retried this often, with PTB's
# growing pauses, before the start fails; once running, PTB retries network errors itself.
START_RETRIES = 5
# Concurrent outgoing calls: PTB's own default for the bot's requests.
SEND_POOL = 256
STAFF_RECHECK = timedelta(minutes=10)
# How often a worker looks for a change another worker published (/reload, /gaps, Undo).
KNOWLEDGE_CHECK = timedelta(seconds=10)
_DIGEST_TIME = time(9, 0)
_MONDAY = 1  # PTB counts weekdays from Sunday = 0


def build_application(
    settings: BotSettings,
    knowledge: Knowledge,
    *,
    content_dir: Path | None = None,
    request: BaseRequest | None = None,
    store: EventStore | None = None,
) -> BotApplication:
    """Build the bot: defaults, rate limiting, services, every handler in order, and jobs."""
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .application_class(inbox.InboxApplication)
        # Typed context.engine / .database / .settings, bot data and user data (context.py).
        .context_types(ContextTypes(context=BotContext, bot_data=BotData, user_data=UserData))
        # Chats side by side, each chat in order: a hung call holds up only its own chat.
        .concurrent_updates(ChatOrderedProcessor())
        # Every update is written to the database before Telegram is told it arrived.
        .update_queue(updates := inbox.InboxQueue())
        .post_init(_announce)
        .post_shutdown(_close)
    )
    if settings.rate_limit:
        # Queues outgoing calls within Telegram's limits (and retries a 429) instead of failing.
        builder = builder.rate_limiter(shared_rate_limiter(settings.workers))
    # Each user's conversation state (a question waiting for staff, the last unanswered
    # one, what each "did you mean" was about) survives a restart: PTB's persistence, user
    # data only, in the database (the services in bot_data are rebuilt at every start).
    state = DatabaseUserState(shared=settings.workers > 1)
    builder = builder.persistence(state)
    if request is not None:
        builder = builder.request(RetryingRequest(request)).get_updates_request(request)
    else:
        builder = builder.request(RetryingRequest(HTTPXRequest(connection_pool_size=SEND_POOL)))
        # getUpdates as PTB makes it (one connection), plus a stop on a rejected token.
        watch = WatchedRequest(lambda: _token_rejected(application), connection_pool_size=1)
        builder = builder.get_updates_request(watch)
    application: BotApplication = builder.build()
    shared = application.bot_data
    shared.settings = settings
    shared.content_dir = content_dir or default_content_dir()
    shared.database = DatabaseWorker(store or _open_store(settings, application))
    shared.content = knowledge
    # The phrasings admins taught from /gaps join the content's examples.
    shared.knowledge_version = shared.database.store.knowledge_version()
    shared.engine = DialogueEngine(with_lessons(knowledge, shared.database.store.learned()))
    updates.database = state.database = shared.database

    # Commands run once, when sent: an edited "/start pricing" or "/stats" is not a new request
    # (PTB's CommandHandler would take edited messages too).
    new = _NEW_MESSAGE
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    ordered = [
        # 1. commands for everyone, then the admins' (each checks the user id itself)
        CommandHandler("start", handlers.on_start, filters=new),
        CommandHandler("help", handlers.on_help, filters=new),
        CommandHandler("topics", handlers.on_topics, filters=new),
        CommandHandler("book", handlers.on_book, filters=new),
        CommandHandler("privacy", handlers.on_privacy, filters=new),
        CommandHandler("human", handoff.on_human, filters=new & private),
        CommandHandler("forget", handlers.on_forget, filters=new),
        CommandHandler("stats", admin.on_stats, filters=new & private),
        CommandHandler("gaps", teaching.on_gaps, filters=new & private),
        CommandHandler("reload", admin.on_reload, filters=new & private),
        CommandHandler("post", admin.on_post, filters=new & private),
        CommandHandler("posts", admin.on_posts, filters=new & private),
        CommandHandler("learned", teaching.on_learned, filters=new & private),
        CommandHandler("todo", teaching.on_todo, filters=new & private),
        # 2. buttons: one handler per kind, by its anchored pattern (keyboards.py); anything
        # else (an older bot's buttons, forged data) gets a polite "out of date"
        CallbackQueryHandler(handlers.on_answer_button, pattern=keyboards.Answer.PATTERN),
        CallbackQueryHandler(handlers.on_none_of_these, pattern=keyboards.NoneOfThese.PATTERN),
        CallbackQueryHandler(handlers.on_topics_button, pattern=keyboards.Topics.PATTERN),
        CallbackQueryHandler(handlers.on_feedback_button, pattern=keyboards.Feedback.PATTERN),
        CallbackQueryHandler(handoff.on_handoff_button, pattern=keyboards.Handoff.PATTERN),
        CallbackQueryHandler(admin.on_publish_button, pattern=keyboards.Publish.PATTERN),
        CallbackQueryHandler(teaching.on_teach_button, pattern=keyboards.Teach.PATTERN),
        CallbackQueryHandler(teaching.on_teach_menu_button, pattern=keyboards.TeachMenu.PATTERN),
        CallbackQueryHandler(teaching.on_teach_to_button, pattern=keyboards.TeachTo.PATTERN),
        CallbackQueryHandler(teaching.on_unlearn_button, pattern=keyboards.Unlearn.PATTERN),
        CallbackQueryHandler(handlers.on_stale_button),
        # 3. inline mode
        InlineQueryHandler(handlers.on_inline_query),
        ChosenInlineResultHandler(handlers.on_inline_result),
    ]
    if settings.staff_chat_id is not None:
        # 4. staff replies to handed-off questions, before the group handler sees them
        staff = (
            filters.Chat(settings.staff_chat_id) & filters.REPLY & filters.TEXT & ~filters.COMMAND
        )
        ordered.append(MessageHandler(_NEW_MESSAGE & staff, handoff.on_staff_reply))
    group_texts = _NEW_MESSAGE & groups & filters.TEXT & ~filters.COMMAND
    ordered += [
        # 5. free text last: private chats always, groups when addressed or in the discussion group
        MessageHandler(
            _NEW_MESSAGE & private & filters.TEXT & ~filters.COMMAND, handlers.on_private_text
        ),
        # in groups: the channel's posts copied into its discussion group (never answered),
        # messages addressed to the bot, then the discussion group's other comments
        MessageHandler(
            _NEW_MESSAGE & groups & filters.IS_AUTOMATIC_FORWARD, discussion.on_channel_post_copy
        ),
        MessageHandler(group_texts & handlers.ADDRESSED, handlers.on_group_text),
        MessageHandler(group_texts, discussion.on_comment),
        MessageHandler(_NEW_MESSAGE & private & _UNSUPPORTED_MEDIA, handlers.on_unsupported_media),
    ]
    application.add_handlers(ordered)
    # Before any of them (a group of its own, so the command still runs): a command ends
    # "type your question for the team", so a later question is not sent to staff.
    application.add_handler(
        MessageHandler(_NEW_MESSAGE & private & filters.COMMAND, handoff.on_any_command), group=-1
    )
    application.add_error_handler(handlers.on_error)
    _schedule_jobs(application, knowledge)
    return application


def _schedule_jobs(application: BotApplication, knowledge: Knowledge) -> None:
    jobs = application.job_queue
    if jobs is None:
        return
    zone = clinic_zone(knowledge.settings)
    jobs.run_daily(
        admin.on_weekly_digest, _DIGEST_TIME.replace(tzinfo=zone), days=(_MONDAY,), name="digest"
    )
    jobs.run_daily(admin.on_retention_purge, time(3, 30, tzinfo=zone), name="retention")
    jobs.run_repeating(_on_staff_recheck, STAFF_RECHECK, first=STAFF_RECHECK, name="staff")
    jobs.run_repeating(
        teaching.follow_changes, KNOWLEDGE_CHECK, first=KNOWLEDGE_CHECK, name="knowledge"
    )
    jobs.run_repeating(_on_inbox_watch, inbox.ALIVE_EVERY, first=inbox.ALIVE_EVERY, name="inbox")


async def _announce(application: BotApplication) -> None:
    """Publish the command menus, find the channel's discussion group, and log that we are ready."""
    engine = application.bot_data.engine
    settings = application.bot_data.settings
    if settings.channel_id is not None:
        try:
            channel = await application.bot.get_chat(settings.channel_id)
            if channel.linked_chat_id:
                application.bot_data.discussion_chat_id = channel.linked_chat_id
        except TelegramError:
            log.warning(
                "could not look up the channel; its discussion group is learnt from its posts"
            )
    if settings.staff_chat_id is not None:
        await check_staff_chat(application)
    _alert_when_unreachable(application)
    await inbox.take_over(application, start=True)
    damage = application.bot_data.store_damaged
    if damage is not None:
        alert = engine.knowledge.say("admin_database_damaged", path=str(settings.database))
        await _alert_admins(application, alert)
    try:
        await admin.set_command_menus(application.bot, engine.knowledge, settings.admin_ids)
    except TelegramError as exc:
        # Menus are a convenience: a hiccup here must not keep the bot from answering.
        log.warning("command menus not set (%s): they are set again at /reload", exc)
    log.info("ready: @%s with %d topics", application.bot.username, len(engine.knowledge.responses))


def _open_store(settings: BotSettings, application: BotApplication) -> EventStore:
    """The analytics database; a damaged one must not take the FAQ down with it.

    A file that is not a database, or a malformed one, leaves the bot answering with a
    store in memory (nothing kept across a restart) and the admins told at start. A
    folder or file that cannot be opened at all is a setting to fix: that still stops the
    start with a clear message, as does a salt that is not the database's.
    """
    try:
        store = EventStore(
            settings.database,
            settings.analytics_salt,
            settings.retention_days,
            # Each try is short: a locked database is waited for in the database thread.
            busy_timeout=TRY_TIMEOUT,
        )
    except OperationalError:
        raise  # cannot be opened (or reached): a setting to fix
    except DatabaseError as exc:
        log.error("the analytics database is damaged (%s): running without it", exc)
        application.bot_data.store_damaged = str(exc)
        return EventStore(Path(MEMORY), settings.analytics_salt, settings.retention_days)
    try:
        store.verify_salt()
    except BaseException:
        store.close()
        raise
    return store


def _alert_when_unreachable(application: BotApplication) -> None:
    """The admins hear when the database stops answering, and when it is back."""
    loop = asyncio.get_running_loop()
    knowledge = application.bot_data.engine.knowledge

    def alert(unreachable: bool) -> None:  # called in the database thread
        key = "admin_database_unreachable" if unreachable else "admin_database_back"
        text = knowledge.message(key)
        loop.call_soon_threadsafe(lambda: application.create_task(_alert_admins(application, text)))

    application.bot_data.database.on_unreachable = alert


async def _alert_admins(application: BotApplication, text: str) -> None:
    settings = application.bot_data.settings
    for admin_id in sorted(settings.admin_ids):
        try:
            await application.bot.send_message(admin_id, text)
        except TelegramError:
            log.warning("could not alert an admin")


async def check_staff_chat(application: BotApplication) -> None:
    """Offer "Talk to a person" only while the staff chat can be reached (checked at start,
    then every STAFF_RECHECK while it cannot)."""
    settings = application.bot_data.settings
    if settings.staff_chat_id is None:
        return
    try:
        await application.bot.get_chat(settings.staff_chat_id)
    except (BadRequest, Forbidden) as exc:
        if not application.bot_data.staff_unreachable:
            log.warning("the staff chat cannot be reached (%s): 'Talk to a person' is off", exc)
        application.bot_data.staff_unreachable = True
        return
    except TelegramError:
        return  # a network hiccup says nothing about the chat: keep the last verdict
    if application.bot_data.staff_unreachable:
        application.bot_data.staff_unreachable = False
        log.info("the staff chat can be reached again: 'Talk to a person' is back")


async def _on_inbox_watch(context: BotContext) -> None:
    await inbox.take_over(context.application, start=False)


async def _on_staff_recheck(context: BotContext) -> None:
    if context.application.bot_data.staff_unreachable:
        await check_staff_chat(context.application)


def _token_rejected(application: BotApplication) -> None:
    application.bot_data.token_rejected = True
    (application.bot_data.stop or application.stop_running)()


async def _close(application: BotApplication) -> None:
    application.bot_data.database.close()


def shared_rate_limiter(workers: int) -> AIORateLimiter:
    """Telegram's limits are per bot, not per process: with WORKERS=N each worker keeps to
    its N-th of about 30 messages a second overall and 20 a minute per group, so together
    they stay within them; a 429 is still waited out and retried."""
    return AIORateLimiter(
        overall_max_rate=FloodLimit.MESSAGES_PER_SECOND / workers,
        group_max_rate=FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP / workers,
        max_retries=5,
    )


def run(settings: BotSettings, knowledge: Knowledge, content_dir: Path | None = None) -> None:
    """Serve until SIGINT/SIGTERM: a webhook when WEBHOOK_URL is set, long polling otherwise."""
    application = build_application(settings, knowledge, content_dir=content_dir)
    if settings.webhook_url:
        log.info("starting webhook server on port %d", settings.port)
        if settings.webhook_secret_generated:
            log.warning(
                "WEBHOOK_SECRET is not set: this run registered a random secret with Telegram "
                "(set WEBHOOK_SECRET when several workers share the webhook URL)"
            )
        secret = settings.webhook_secret or ""  # from_env always sets one for a webhook
        path = urlparse(settings.webhook_url).path
        asyncio.run(serve_webhook(application, settings, path, secret))
    else:
        log.info("starting long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=START_RETRIES)
    if application.bot_data.token_rejected:
        raise TokenRejectedError("Telegram rejected the bot token (401) while the bot was running")
