"""Telegram's documented limits and the Bot API's fixed vocabularies, as the emulator
enforces them."""

from __future__ import annotations

from typing import Any, TypeVar

JSON = dict[str, Any]
_T = TypeVar("_T")

DEFAULT_TOKEN = "123456:TEST-token"

# Telegram's documented limits (https://core.telegram.org/bots/api).
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION = 256

# The service account that authors automatic forwards from a channel to its discussion group.
TELEGRAM_SERVICE_USER: JSON = {"id": 777000, "is_bot": False, "first_name": "Telegram"}

# Parameters that PTB (and every other client) sends JSON-encoded inside form fields.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "results",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "button",
        "menu_button",
        "media",
        "message_ids",
        "reaction",
        "permissions",
        "rights",
        "options",
    }
)

# Update types delivered when allowed_updates is unset or empty (per the getUpdates docs).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# The optional fields of InlineKeyboardButton of which exactly one must be used.
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "audio",
        "contact",
        "document",
        "game",
        "gif",
        "location",
        "mpeg4_gif",
        "photo",
        "sticker",
        "venue",
        "video",
        "voice",
    }
)

# Message fields that make up the "content" copied by forwards, copies and auto-forwards.
CONTENT_KEYS = (
    "text",
    "entities",
    "photo",
    "document",
    "sticker",
    "voice",
    "audio",
    "video",
    "animation",
    "location",
    "contact",
    "caption",
    "caption_entities",
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
