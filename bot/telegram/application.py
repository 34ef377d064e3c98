"""How the bot works, in one place: the Application and its handlers, in order."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.engine import DialogueEngine
from bot.knowledge import Knowledge
from bot.telegram import handlers
from bot.telegram.settings import BotSettings

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


def build_application(
    settings: BotSettings, knowledge: Knowledge, request: BaseRequest | None = None
) -> Application:  # type: ignore[type-arg]
    """Build the bot: defaults, rate limiting, services and every handler in order."""
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        # Queues outgoing calls within Telegram's limits (and retries a 429) instead of failing.
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_announce)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    application.bot_data[handlers.ENGINE_KEY] = DialogueEngine(knowledge)

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handlers(
        [
            # 1. commands
            CommandHandler("start", handlers.start),
            CommandHandler("help", handlers.help_command),
            CommandHandler("topics", handlers.topics_command),
            CommandHandler("book", handlers.book_command),
            CommandHandler("privacy", handlers.privacy_command),
            # 2. buttons: ours by anchored pattern, anything else gets a polite "out of date"
            CallbackQueryHandler(handlers.on_button),
            # 3. inline mode
            InlineQueryHandler(handlers.on_inline_query),
            # 4. free text last: private chats always, groups only when addressed
            MessageHandler(
                _NEW_MESSAGE & private & filters.TEXT & ~filters.COMMAND, handlers.private_text
            ),
            MessageHandler(
                _NEW_MESSAGE & groups & filters.TEXT & ~filters.COMMAND, handlers.group_text
            ),
            MessageHandler(_NEW_MESSAGE & private & _UNSUPPORTED_MEDIA, handlers.unsupported_media),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


async def _announce(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menu (derived from the content) and log that we are ready."""
    engine: DialogueEngine = application.bot_data[handlers.ENGINE_KEY]
    commands = [BotCommand(name, text) for name, text in engine.knowledge.commands.items()]
    await application.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
    group_commands = [c for c in commands if c.command != "privacy"]
    await application.bot.set_my_commands(group_commands, scope=BotCommandScopeAllGroupChats())
    log.info("ready: @%s with %d topics", application.bot.username, len(engine.knowledge.responses))


def run(settings: BotSettings, knowledge: Knowledge) -> None:
    """Serve until SIGINT/SIGTERM: a webhook when WEBHOOK_URL is set, long polling otherwise."""
    application = build_application(settings, knowledge)
    if settings.webhook_url:
        log.info("starting webhook server on port %d", settings.port)
        application.run_webhook(
            listen="0.0.0.0",  # the platform routes public traffic to this port
            port=settings.port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("starting long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
