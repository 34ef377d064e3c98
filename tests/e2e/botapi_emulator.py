"""A local, stdlib-only emulator of the Telegram Bot API for end-to-end tests.

The emulator is an independent model of Telegram: it imports nothing from the ``bot``
package, speaks the real HTTP protocol (``/bot<token>/<method>``, JSON, form-urlencoded and
multipart bodies) and enforces the Bot API rules a bot most often breaks in production
(strict HTML parsing, text/caption limits, inline keyboard rules, callback/inline query
lifecycles, chat permissions). A test drives the *user* side through a thread-safe,
synchronous controller API while the bot under test runs (in-process or as a subprocess)
against the HTTP port.

Usage::

    from .botapi_emulator import BotApiEmulator    # from a test module in tests/e2e/

    with BotApiEmulator() as emu:               # binds 127.0.0.1:<random port>
        # Point the bot at the emulator, e.g. a subprocess with these settings:
        #   ApplicationBuilder().token(emu.token)
        #       .base_url(emu.base_url).base_file_url(emu.base_file_url)
        ana = emu.add_user("Ana", username="ana")
        chat = emu.private_chat(ana)
        emu.send_text(ana, chat, "/start")      # enqueues an Update for getUpdates
        reply = emu.wait_for_message(chat)       # next bot message in that chat
        assert "Welcome" in reply["text"]
        qid = emu.press_button(ana, reply, "faq:prices")
        emu.wait_for_callback_answer(qid)
        emu.wait_until_idle()
        emu.assert_clean()                       # no rejected call, no unanswered query

Messages, updates and answers are plain ``dict`` objects shaped exactly like the Bot API
JSON (``msg["text"]``, ``msg["reply_markup"]["inline_keyboard"]``...); users and chats are
small dataclasses with an ``id``.  Every API call is recorded in ``emu.calls`` (method,
decoded params, timestamp, result or error); rejected ones also appear in ``emu.errors``.

Deliberate deviations from Telegram (all on the strict side, so that a bot passing here
also passes on Telegram):

* an ``&`` that does not start an HTML entity is rejected in HTML text (Telegram keeps it
  literally, but it nearly always means the bot forgot ``html.escape``); pass
  ``strict_html_ampersand=False`` to get Telegram's lenient behaviour;
* an inline keyboard button with more than one action is rejected (Telegram silently uses
  one of them; the docs say exactly one must be used);
* ``parse_mode`` Markdown/MarkdownV2 is answered with "unsupported parse_mode".
"""

from __future__ import annotations

import contextlib
import copy
import email.message
import itertools
import json
import re
import struct
import threading
import time
import traceback
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar, cast

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "Call",
    "Chat",
    "HtmlParseError",
    "UploadedFile",
    "User",
    "make_png",
    "parse_html",
    "utf16_len",
]

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


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def _bad(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def _forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html` with Telegram's wording (without the API prefix)."""


# --------------------------------------------------------------------------------------
# Text utilities: UTF-16 lengths, Telegram's HTML parser, automatic entities
# --------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports HTML errors at UTF-8 byte offsets of the original string.
    return len(text[:index].encode("utf-8", "surrogatepass"))


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# tdlib's is_space(); NUL is included there because it scans a C string.
_HTML_SPACES = frozenset(" \t\r\n\v\0")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the entity at ``text[pos] == "&"`` the way tdlib does.

    Supported: ``&lt; &gt; &amp; &quot;`` and numeric references; the ``;`` is optional.
    Returns ``(None, pos)`` when there is no valid entity there.
    """
    end = pos + 1
    n = len(text)
    if end < n and text[end] == "#":
        end += 1
        value = 0
        digits = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[end], 16)
                end += 1
                digits += 1
        else:
            while end < n and text[end] in "0123456789":
                value = value * 10 + int(text[end])
                end += 1
                digits += 1
        if digits == 0 or value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= value <= 0xDFFF:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def normalize_url(url: str) -> str | None:
    """Validate a text_link URL like tdlib: None (entity dropped) when it is not a link."""
    candidate = url
    if not candidate or any(char.isspace() for char in candidate):
        return None  # tdlib: "<a>telegram.org </a>" yields no link
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", candidate)
    if match is None:
        if not re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+([:/?#]|$)", candidate):
            return None
        candidate = "http://" + candidate
        match = re.match(r"^(http)://", candidate)
        assert match is not None
    scheme = match.group(1).lower()
    if scheme in ("tg", "ton"):
        return candidate
    if scheme not in ("http", "https", "ftp"):
        return None
    parts = urllib.parse.urlsplit(candidate)
    host = parts.netloc.split(":")[0]
    if not host or ("." not in host and host != "localhost"):
        return None
    # Telegram returns bare-domain links with the root path, e.g. "https://example.com/".
    return str(
        urllib.parse.urlunsplit(
            (scheme, parts.netloc, parts.path or "/", parts.query, parts.fragment)
        )
    )


@dataclass
class _OpenTag:
    tag: str
    argument: str
    utf16_start: int
    out_start: int
    begin: int


def parse_html(
    html: str,
    *,
    strict_ampersand: bool = True,
    known_users: Mapping[int, JSON] | None = None,
) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    A port of the algorithm of tdlib's ``parse_html`` (the code behind the Bot API's
    ``parse_mode=HTML``): same tags, attributes, entity decoding and error messages. Offsets
    and lengths of the returned entities are in UTF-16 code units.
    """
    n = len(html)
    out: list[str] = []
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i = 0

    def fail(message: str) -> HtmlParseError:
        return HtmlParseError(message)

    while i < n:
        char = html[i]
        if char == "&":
            decoded, after = _decode_html_entity(html, i)
            if decoded is not None:
                out.append(decoded)
                utf16 += utf16_len(decoded)
                i = after
                continue
            if strict_ampersand:
                raise fail(
                    f'Unescaped "&" at byte offset {_byte_offset(html, i)}: write it as '
                    '"&amp;" (emulator strict mode; Telegram would keep it literally)'
                )
        if char != "<":
            out.append(char)
            utf16 += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i >= n or html[i] != "/":
            while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {_byte_offset(html, begin)}")
            tag = html[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise fail(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                )
            attributes, i = _parse_html_attributes(html, i, tag, begin)
            i += 1  # the '>'
            argument = ""
            if tag == "a":
                argument = attributes.get("href", "")
            elif tag == "code":
                language = attributes.get("class", "")
                if language.startswith("language-"):
                    argument = language[len("language-") :]
            elif tag == "span":
                if attributes.get("class") != "tg-spoiler":
                    raise fail(
                        'Tag "span" must have class "tg-spoiler" at byte offset '
                        f"{_byte_offset(html, begin)}"
                    )
            elif tag == "tg-emoji":
                emoji_id = attributes.get("emoji-id", "")
                if not emoji_id.isdigit() or int(emoji_id) == 0:
                    raise fail("Invalid custom emoji identifier specified")
                argument = emoji_id
            elif tag == "blockquote" and "expandable" in attributes:
                argument = "expandable"
            stack.append(_OpenTag(tag, argument, utf16, len(out), begin))
            continue

        # An end tag.
        if not stack:
            raise fail(f"Unexpected end tag at byte offset {_byte_offset(html, begin)}")
        i += 1  # the '/'
        name_start = i
        while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
            i += 1
        end_name = html[name_start:i].lower()
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n or html[i] != ">":
            raise fail(f"Unclosed end tag at byte offset {_byte_offset(html, begin)}")
        i += 1
        top = stack.pop()
        if end_name and end_name != top.tag:
            raise fail(
                f"Unmatched end tag at byte offset {_byte_offset(html, begin)}, "
                f'expected "</{top.tag}>", found "</{end_name}>"'
            )
        length = utf16 - top.utf16_start
        if length > 0:
            entity = _html_entity(top, length, "".join(out[top.out_start :]), known_users)
            if entity is not None:
                entities.append(entity)

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), _merge_pre_code(entities)


def _parse_html_attributes(html: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse the attributes of a start tag; returns them and the index of the closing '>'."""
    n = len(html)
    attributes: dict[str, str] = {}
    while True:
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i < n and html[i] == ">":
            return attributes, i
        name_start = i
        while i < n and html[i] not in _HTML_SPACES and html[i] not in "=>":
            i += 1
        name = html[name_start:i].lower()
        if not name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(html, begin)}"
            )
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n or html[i] != "=":
            # <blockquote expandable> is the one value-less attribute Telegram documents.
            if tag == "blockquote" and name == "expandable":
                attributes[name] = ""
                continue
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at '
                f"byte offset {_byte_offset(html, begin)}"
            )
        i += 1
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n:
            raise HtmlParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
            )
        if html[i] not in "'\"":
            # An unquoted value must be a name token: letters, digits, '.' and '-'.
            token_start = i
            while i < n and html[i].isascii() and (html[i].isalnum() or html[i] in ".-"):
                i += 1
            value = html[token_start:i].lower()
            if i < n and html[i] not in _HTML_SPACES and html[i] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(html, token_start)}"
                )
        else:
            quote = html[i]
            i += 1
            chars: list[str] = []
            while i < n and html[i] != quote:
                if html[i] == "&":
                    # Attribute values (URLs) keep a stray '&' even in strict mode.
                    decoded, after = _decode_html_entity(html, i)
                    if decoded is not None:
                        chars.append(decoded)
                        i = after
                        continue
                chars.append(html[i])
                i += 1
            if i < n:
                i += 1  # the closing quote
            value = "".join(chars)
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(html, begin)}")
        attributes.setdefault(name, value)


def _html_entity(
    top: _OpenTag, length: int, inner_text: str, known_users: Mapping[int, JSON] | None
) -> JSON | None:
    offset = top.utf16_start
    simple = _SIMPLE_TAG_ENTITIES.get(top.tag)
    if simple is not None:
        return {"type": simple, "offset": offset, "length": length}
    if top.tag == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": top.argument,
        }
    if top.tag == "blockquote":
        kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if top.tag == "code":
        entity: JSON = {"type": "code", "offset": offset, "length": length}
        if top.argument:
            entity["language"] = top.argument  # moved onto an enclosing <pre> below
        return entity
    if top.tag == "pre":
        return {"type": "pre", "offset": offset, "length": length}
    # <a>: an empty href means the text itself is the URL.
    url = top.argument or inner_text
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
    if mention is not None:
        user = (known_users or {}).get(int(mention.group(1)))
        if user is None:
            return None  # Telegram drops mentions of users the bot cannot see
        return {"type": "text_mention", "offset": offset, "length": length, "user": dict(user)}
    normalized = normalize_url(url)
    if normalized is None:
        return None  # tdlib silently drops links with an invalid URL
    return {"type": "text_link", "offset": offset, "length": length, "url": normalized}


def _merge_pre_code(entities: list[JSON]) -> list[JSON]:
    """<pre><code class="language-x"> becomes one pre entity with a language."""
    pres = [e for e in entities if e["type"] == "pre"]
    result: list[JSON] = []
    for entity in entities:
        if entity["type"] == "code":
            enclosing = [
                p
                for p in pres
                if p["offset"] <= entity["offset"]
                and entity["offset"] + entity["length"] <= p["offset"] + p["length"]
            ]
            if enclosing:
                pre = enclosing[0]
                same_range = (pre["offset"], pre["length"]) == (entity["offset"], entity["length"])
                if same_range and entity.get("language"):
                    pre["language"] = entity["language"]
                continue  # code inside pre is redundant: "entities can't contain each other"
            entity.pop("language", None)
        result.append(entity)
    return _sort_entities(result)


def _sort_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_TRIM_CHARS = " \t\r\n\v\f"


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips leading/trailing whitespace from texts; entities are shifted."""
    stripped_left = text.lstrip(_TRIM_CHARS)
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    result = stripped_left.rstrip(_TRIM_CHARS)
    total = utf16_len(result)
    fixed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


_AUTO_ENTITY_PATTERNS = (
    ("url", re.compile(r"\bhttps?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)),
    ("bot_command", re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![A-Za-z0-9_@/])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d])\w+")),
)
# Auto-detected entities are not created inside these explicit ones.
_OPAQUE_ENTITIES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def detect_entities(text: str, existing: Iterable[JSON] = ()) -> list[JSON]:
    """The entities Telegram's server adds by itself: urls, /commands, @mentions, #tags."""
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _OPAQUE_ENTITIES
    ]
    found: list[JSON] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return found


# --------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------


def make_png(width: int = 2, height: int = 2) -> bytes:
    """A valid black RGB PNG of the given size (handy as an upload in tests)."""
    row = b"\x00" + b"\x00\x00\x00" * width

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG/JPEG/GIF/WebP image, None when it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + int(segment)
        return 640, 480
    return None


# --------------------------------------------------------------------------------------
# Model objects
# --------------------------------------------------------------------------------------


@dataclass
class User:
    """A Telegram user controlled by the test."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    """A chat known to the emulator, with the bot's standing in it."""

    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    # The bot's membership: "administrator" | "member" | "left" | "kicked".
    bot_status: str = "member"
    # Private chats: has the user ever written to the bot / has the user blocked it?
    opened: bool = False
    blocked: bool = False
    linked_chat_id: int | None = None
    # user id -> "creator" | "administrator" | "member" | "left" | "kicked"
    members: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class UploadedFile:
    """A file part of a multipart/form-data request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One HTTP request to the Bot API as the emulator saw and answered it."""

    method: str
    params: JSON
    time: float
    ok: bool = False
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    duration: float = 0.0
    injected: bool = False  # the error came from inject_error()
    superseded: bool = False  # a long poll terminated by a newer getUpdates (409)
    note: str | None = None

    def summary(self) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=str)
        if len(params) > 300:
            params = params[:297] + "..."
        outcome = "ok" if self.ok else f"ERROR {self.error_code} {self.description!r}"
        return f"{self.method} -> {outcome} params={params}"


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _CallbackQuery:
    id: str
    user_id: int
    data: str | None
    chat_id: int | None
    message_id: int | None
    inline_message_id: str | None
    created: float
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _InlineQuery:
    id: str
    user_id: int
    query: str
    created: float
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _Fault:
    method: str
    error: ApiError
    times: int


class _Params:
    """Typed access to request parameters, whatever encoding the client used."""

    def __init__(self, values: JSON, files: dict[str, UploadedFile]):
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise _bad(f'wrong parameter "{name}" specified: integer expected') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json_value(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    def file(self, name: str) -> UploadedFile | None:
        """An uploaded file given directly or through an ``attach://<part>`` reference."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.files.get(value[len("attach://") :])
            if attached is None:
                raise _bad(f"file {value} not found in the request")
            return attached
        return None


def _parse_multipart(body: bytes, boundary: str) -> tuple[JSON, dict[str, UploadedFile]]:
    """Minimal RFC 7578 parser (the stdlib ``cgi`` module is deprecated)."""
    values: JSON = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        headers = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip()] = value.strip()
        field_name = headers.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            continue
        filename = headers.get_filename()
        if filename is not None:
            content_type = headers.get_content_type() if "content-type" in headers else ""
            files[field_name] = UploadedFile(
                field_name, filename, content_type or "application/octet-stream", data
            )
        else:
            values[field_name] = data.decode("utf-8", "surrogateescape")
    return values, files


def _decode_json_params(values: JSON) -> JSON:
    decoded = dict(values)
    for key in JSON_PARAMS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str):
            # A broken value stays a string; the method reports "can't parse ... JSON object".
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(value)
    return decoded


def _is_http_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


# --------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: BotApiEmulator):
        self.emulator = emulator
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request (e.g. a cancelled long poll) is not an error.
        return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "TelegramBotApiEmulator/1.0"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # every call is recorded in emulator.calls instead

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        emulator = cast(_Server, self.server).emulator
        try:
            body = self._read_body()
            status, payload, content_type = emulator._handle_http(
                self.command, self.path, self.headers, body
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


# --------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------

UserRef = User | int | JSON
ChatRef = Chat | int | JSON
Predicate = Callable[[JSON], bool]


class BotApiEmulator:
    """A fake Telegram Bot API server plus a controller for the user side.

    All public methods are thread-safe and synchronous. Messages/updates are returned as
    deep copies of the Bot API JSON, so tests can keep them around safely.
    """

    _COMMAND_SCOPES: ClassVar[frozenset[str]] = frozenset(
        {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
    )

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "clinic_faq_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "Clinic FAQ",
        supports_inline_queries: bool = True,
        privacy_mode: bool = False,
        strict_html_ampersand: bool = True,
    ):
        """Create an emulator; ``bot_id`` defaults to the numeric prefix of the token.

        ``privacy_mode=True`` models group privacy mode: in groups where the bot is not an
        administrator it only receives commands, replies to its messages, mentions of it
        and automatic forwards. The default (off) delivers every group message.
        """
        self.token = token
        self.bot_username = bot_username
        prefix = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 1)
        self.bot_first_name = bot_first_name
        self.supports_inline_queries = supports_inline_queries
        self.privacy_mode = privacy_mode
        self.strict_html_ampersand = strict_html_ampersand

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._users: dict[int, User] = {}
        self._chats: dict[int, Chat] = {}
        self._history: dict[int, list[JSON]] = {}
        self._index: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_keys: set[tuple[int, int]] = set()
        self._bot_sent: dict[int, list[JSON]] = {}
        self._consumed: set[tuple[int, int]] = set()
        self._deleted: list[JSON] = []
        self._auto_forwards: dict[tuple[int, int], tuple[int, int]] = {}
        self._inline_messages: dict[str, tuple[int, int]] = {}

        self._queue: list[JSON] = []
        self._all_updates: list[JSON] = []
        self._allowed_updates: frozenset[str] | None = None
        self._max_fetched = 0
        self._poll_generation = 0
        self._webhook: JSON | None = None

        self._calls: list[Call] = []
        self._consumed_calls: set[int] = set()
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._faults: list[_Fault] = []
        self._latency: dict[str, float] = {}

        self._callbacks: dict[str, _CallbackQuery] = {}
        self._inline_queries: dict[str, _InlineQuery] = {}
        self._inline_results: dict[str, list[JSON]] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._files: dict[str, _StoredFile] = {}
        self._png_cache: dict[tuple[int, int], bytes] = {}

        counter = itertools.count
        self._user_ids = counter(100_000_001)
        self._group_ids = counter(1)
        self._update_ids = counter(500_000_001)
        self._query_ids = counter(1)
        self._file_ids = counter(1)
        self._inline_message_ids = counter(1)

        self._methods: dict[str, tuple[str, Callable[[_Params], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._m_get_me,
                "getUpdates": self._m_get_updates,
                "logOut": self._m_true,
                "close": self._m_true,
                "setWebhook": self._m_set_webhook,
                "deleteWebhook": self._m_delete_webhook,
                "getWebhookInfo": self._m_get_webhook_info,
                "setMyCommands": self._m_set_my_commands,
                "getMyCommands": self._m_get_my_commands,
                "deleteMyCommands": self._m_delete_my_commands,
                "setMyDescription": self._m_set_bot_text("description"),
                "getMyDescription": self._m_get_bot_text("description"),
                "setMyShortDescription": self._m_set_bot_text("short_description"),
                "getMyShortDescription": self._m_get_bot_text("short_description"),
                "setMyName": self._m_set_bot_text("name"),
                "getMyName": self._m_get_bot_text("name"),
                "setChatMenuButton": self._m_set_chat_menu_button,
                "getChatMenuButton": self._m_get_chat_menu_button,
                "sendMessage": self._m_send_message,
                "sendPhoto": self._m_send_photo,
                "sendDocument": self._m_send_document,
                "sendChatAction": self._m_send_chat_action,
                "forwardMessage": self._m_forward_message,
                "copyMessage": self._m_copy_message,
                "editMessageText": self._m_edit_message_text,
                "editMessageCaption": self._m_edit_message_caption,
                "editMessageReplyMarkup": self._m_edit_message_reply_markup,
                "deleteMessage": self._m_delete_message,
                "answerCallbackQuery": self._m_answer_callback_query,
                "answerInlineQuery": self._m_answer_inline_query,
                "getChat": self._m_get_chat,
                "getChatMember": self._m_get_chat_member,
                "getChatMemberCount": self._m_get_chat_member_count,
                "getChatAdministrators": self._m_get_chat_administrators,
                "getFile": self._m_get_file,
            }.items()
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> BotApiEmulator:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="botapi-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release pending long polls (they answer ``[]``) and shut the server down."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)``: PTB appends the token and ``/method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(token, base_file_url=...)``: PTB appends the token and the file path."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- world building

    def add_user(
        self,
        first_name: str = "Ana",
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> User:
        """Register a (human) user; returns it (``user.id``, ``user.to_dict()``)."""
        with self._lock:
            uid = user_id if user_id is not None else next(self._user_ids)
            user = User(uid, first_name, username, last_name, language_code)
            self._users[uid] = user
            return user

    def private_chat(self, user: UserRef) -> Chat:
        """The private chat between ``user`` and the bot (chat id == user id).

        It counts as *opened* only once the user has sent something in it; until then the
        bot gets "Forbidden: bot can't initiate conversation with a user".
        """
        with self._lock:
            return self._private_chat(self._user(user))

    def add_group(
        self,
        title: str,
        supergroup: bool = True,
        *,
        username: str | None = None,
        bot_is_admin: bool = False,
        bot_is_member: bool = True,
        is_forum: bool = False,
        owner: UserRef | None = None,
        members: Iterable[UserRef] = (),
    ) -> Chat:
        """A (super)group with the bot as member (or administrator)."""
        with self._lock:
            number = next(self._group_ids)
            if supergroup:
                chat_id = -(1_000_000_000_000 + 2_000_000_000 + number)
                chat = Chat(chat_id, "supergroup", title=title, username=username)
                chat.is_forum = is_forum
            else:
                chat = Chat(-(4_000_000_000 + number), "group", title=title)
            chat.bot_status = self._bot_status(bot_is_admin, bot_is_member)
            if owner is not None:
                chat.members[self._user(owner).id] = "creator"
            for member in members:
                chat.members.setdefault(self._user(member).id, "member")
            self._chats[chat.id] = chat
            return chat

    def add_channel(
        self,
        title: str,
        username: str | None = None,
        bot_is_admin: bool = True,
        discussion_group: Chat | str | bool | None = None,
        *,
        bot_is_member: bool = True,
    ) -> Chat:
        """A channel; ``discussion_group`` links a supergroup (a Chat, or a title/True to
        create one) that receives automatic forwards of every post."""
        with self._lock:
            number = next(self._group_ids)
            chat = Chat(
                -(1_000_000_000_000 + 2_000_000_000 + number),
                "channel",
                title=title,
                username=username,
                bot_status=self._bot_status(bot_is_admin, bot_is_member),
            )
            self._chats[chat.id] = chat
            if discussion_group is not None and discussion_group is not False:
                if isinstance(discussion_group, Chat):
                    group = self._chat(discussion_group)
                    if group.type != "supergroup":
                        raise ValueError("a discussion group must be a supergroup")
                else:
                    name = discussion_group if isinstance(discussion_group, str) else None
                    group = self.add_group(name or f"{title} Chat")
                chat.linked_chat_id = group.id
                group.linked_chat_id = chat.id
            return chat

    def discussion_group(self, channel: ChatRef) -> Chat | None:
        with self._lock:
            linked = self._chat(channel).linked_chat_id
            return self._chats.get(linked) if linked is not None else None

    def set_bot_status(self, chat: ChatRef, status: str) -> None:
        """Change the bot's membership: administrator, member, left or kicked."""
        if status not in ("administrator", "member", "left", "kicked"):
            raise ValueError(status)
        with self._lock:
            self._chat(chat).bot_status = status

    def set_member_status(self, chat: ChatRef, user: UserRef, status: str) -> None:
        """Change a user's membership: creator, administrator, member, left or kicked."""
        with self._lock:
            self._chat(chat).members[self._user(user).id] = status

    def block_bot(self, user: UserRef) -> None:
        """The user blocks the bot: a my_chat_member update, then sends are Forbidden."""
        self._set_blocked(user, blocked=True)

    def unblock_bot(self, user: UserRef) -> None:
        self._set_blocked(user, blocked=False)

    # ----------------------------------------------------------------- user actions

    def send_text(
        self,
        user: UserRef,
        chat: ChatRef,
        text: str,
        reply_to: JSON | int | None = None,
        *,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """The user writes ``text`` in ``chat``; returns the Message (a ``message`` update
        is queued). Entities: /commands (incl. ``/start payload``, ``/help@bot``),
        @mentions, URLs and #hashtags are detected as Telegram does."""
        detected = detect_entities(text, entities or [])
        content: JSON = {"text": text}
        all_entities = _sort_entities([*(entities or []), *detected])
        if all_entities:
            content["entities"] = all_entities
        return self._user_message(user, chat, content, reply_to)

    def send_photo(
        self,
        user: UserRef,
        chat: ChatRef,
        caption: str | None = None,
        *,
        width: int = 640,
        height: int = 480,
        reply_to: JSON | int | None = None,
    ) -> JSON:
        with self._lock:
            data = self._png(width, height)
            content: JSON = {"photo": self._photo_sizes(data, width, height)}
            self._add_caption(content, caption)
            return self._user_message(user, chat, content, reply_to)

    def send_document(
        self,
        user: UserRef,
        chat: ChatRef,
        file_name: str = "document.pdf",
        data: bytes = b"%PDF-1.4\n%emulator\n",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> JSON:
        with self._lock:
            stored = self._store_file("document", data, file_name=file_name, mime_type=mime_type)
            content: JSON = {"document": self._document_dict(stored)}
            self._add_caption(content, caption)
            return self._user_message(user, chat, content)

    def send_sticker(self, user: UserRef, chat: ChatRef, emoji: str = "\U0001f44d") -> JSON:
        with self._lock:
            stored = self._store_file("sticker", b"RIFF\0\0\0\0WEBPVP8 ", mime_type="image/webp")
            sticker = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(stored.data),
            }
            return self._user_message(user, chat, {"sticker": sticker})

    def send_voice(self, user: UserRef, chat: ChatRef, duration: int = 3) -> JSON:
        with self._lock:
            stored = self._store_file("voice", b"OggS\0emulator", mime_type="audio/ogg")
            voice = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(stored.data),
            }
            return self._user_message(user, chat, {"voice": voice})

    def send_location(
        self, user: UserRef, chat: ChatRef, latitude: float = 41.3874, longitude: float = 2.1686
    ) -> JSON:
        return self._user_message(
            user, chat, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def send_custom(
        self, user: UserRef, chat: ChatRef, content: JSON, reply_to: JSON | int | None = None
    ) -> JSON:
        """Escape hatch: a user message with arbitrary Bot API content fields."""
        return self._user_message(user, chat, copy.deepcopy(content), reply_to)

    def edit_text(self, message: JSON, new_text: str) -> JSON:
        """The author edits a user message or channel post: ``edited_message`` /
        ``edited_channel_post`` update. Returns the edited Message."""
        with self._cond:
            stored = self._stored(message)
            if (stored["chat"]["id"], stored["message_id"]) in self._bot_keys:
                raise AssertionError("edit_text() edits user messages; the bot edits its own")
            stored["text"] = new_text
            entities = detect_entities(new_text)
            if entities:
                stored["entities"] = entities
            else:
                stored.pop("entities", None)
            stored["edit_date"] = int(time.time())
            chat = self._chats[stored["chat"]["id"]]
            if chat.type == "channel":
                if chat.bot_status in ("administrator", "member"):
                    self._enqueue("edited_channel_post", stored)
            elif self._should_deliver(chat, stored):
                self._enqueue("edited_message", stored)
            return copy.deepcopy(stored)

    def press_button(
        self, user: UserRef, message: JSON, callback_data: str, *, check: bool = True
    ) -> str:
        """The user presses an inline button: a ``callback_query`` update carrying the
        message's current state. Returns the query id. With ``check`` the button must
        exist on the message right now (pressing removed buttons is impossible)."""
        with self._cond:
            sender = self._user(user)
            stored = self._stored(message)
            key = (stored["chat"]["id"], stored["message_id"])
            if check:
                buttons = [
                    button
                    for row in stored.get("reply_markup", {}).get("inline_keyboard", [])
                    for button in row
                ]
                if not any(b.get("callback_data") == callback_data for b in buttons):
                    available = [b.get("callback_data") for b in buttons if "callback_data" in b]
                    raise AssertionError(
                        f"message {key} has no button with callback_data={callback_data!r}; "
                        f"available: {available}"
                    )
            query_id = str(4_200_000_000_000_000_000 + next(self._query_ids))
            inline_id = next((k for k, v in self._inline_messages.items() if v == key), None)
            payload: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "chat_instance": str(abs(key[0]) * 7919 % 10**18),
                "data": callback_data,
            }
            if inline_id is not None:
                payload["inline_message_id"] = inline_id
            else:
                payload["message"] = copy.deepcopy(stored)
            self._callbacks[query_id] = _CallbackQuery(
                query_id,
                sender.id,
                callback_data,
                None if inline_id else key[0],
                None if inline_id else key[1],
                inline_id,
                time.time(),
            )
            self._enqueue("callback_query", payload)
            return query_id

    def inline_query(
        self, user: UserRef, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> str:
        """The user types ``@bot query``: an ``inline_query`` update; returns its id."""
        with self._cond:
            if not self.supports_inline_queries:
                raise AssertionError("inline mode is disabled for this bot")
            sender = self._user(user)
            query_id = str(5_300_000_000_000_000_000 + next(self._query_ids))
            payload: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "query": query,
                "offset": offset,
            }
            if chat_type:
                payload["chat_type"] = chat_type
            self._inline_queries[query_id] = _InlineQuery(query_id, sender.id, query, time.time())
            self._enqueue("inline_query", payload)
            return query_id

    def choose_inline_result(
        self, user: UserRef, query_id: str, result_id: str, chat: ChatRef | None = None
    ) -> JSON | None:
        """The user picks a result of an answered inline query: a ``chosen_inline_result``
        update; with ``chat`` the result is also posted there (``via_bot``) and returned."""
        with self._cond:
            sender = self._user(user)
            query = self._inline_queries.get(query_id)
            results = self._inline_results.get(query_id)
            if query is None or results is None:
                raise AssertionError(f"inline query {query_id} was not answered")
            result = next((r for r in results if str(r.get("id")) == result_id), None)
            if result is None:
                raise AssertionError(f"inline query {query_id} has no result {result_id!r}")
            chosen: JSON = {"result_id": result_id, "from": sender.to_dict(), "query": query.query}
            posted: JSON | None = None
            if chat is not None:
                content = self._inline_result_content(result)
                markup = result.get("reply_markup")
                target = self._chat(chat)
                posted = self._new_message(target, sender.to_dict(), None)
                posted["via_bot"] = self.bot_user
                posted.update(content)
                if markup:
                    posted["reply_markup"] = copy.deepcopy(markup)
                    inline_id = f"AgAAA{next(self._inline_message_ids):08d}EMU"
                    self._inline_messages[inline_id] = (target.id, posted["message_id"])
                    chosen["inline_message_id"] = inline_id
                self._store(posted)
                if self._should_deliver(target, posted):
                    self._enqueue("message", posted)
            self._enqueue("chosen_inline_result", chosen)
            return copy.deepcopy(posted) if posted is not None else None

    def channel_post(
        self, channel: ChatRef, text: str, *, author_signature: str | None = None
    ) -> JSON:
        """A post in a channel: ``channel_post`` update (when the bot is in the channel)
        and, with a linked discussion group, the automatic forward into it delivered as a
        ``message`` (``is_automatic_forward``). Returns the post; see automatic_forward()."""
        with self._cond:
            chat = self._chat(channel)
            if chat.type != "channel":
                raise ValueError("channel_post() needs a channel")
            post = self._new_message(chat, None, chat.to_dict())
            post["text"] = text
            entities = detect_entities(text)
            if entities:
                post["entities"] = entities
            if author_signature:
                post["author_signature"] = author_signature
            self._store(post)
            if chat.bot_status in ("administrator", "member"):
                self._enqueue("channel_post", post)
            self._auto_forward(post)
            return copy.deepcopy(post)

    def automatic_forward(self, post: JSON, timeout: float = 0.0) -> JSON:
        """The discussion-group copy of a channel post (optionally waiting for it)."""

        def find() -> JSON | None:
            key = self._auto_forwards.get((post["chat"]["id"], post["message_id"]))
            return copy.deepcopy(self._index[key]) if key in self._index else None

        return self._wait(find, timeout, f"no automatic forward of post {post['message_id']}")

    def comment(
        self, user: UserRef, discussion_group: ChatRef, forwarded_message: JSON, text: str
    ) -> JSON:
        """A comment under a channel post: a reply to the automatic forward in the
        discussion group, in its thread. ``forwarded_message`` may also be the post."""
        with self._cond:
            group = self._chat(discussion_group)
            target = forwarded_message
            if target["chat"]["id"] != group.id:
                key = self._auto_forwards.get((target["chat"]["id"], target["message_id"]))
                if key is None or key[0] != group.id:
                    raise AssertionError("that post was not forwarded to this discussion group")
                target = self._index[key]
            return self.send_text(user, group, text, reply_to=target)

    # ----------------------------------------------------------------- waiting helpers

    def wait_for_message(
        self, chat: ChatRef, predicate: Predicate | None = None, timeout: float = 10.0
    ) -> JSON:
        """The next message the bot sent in ``chat`` not returned before (matching
        ``predicate``), as it was when sent. Raises AssertionError with a dump on timeout."""
        with self._lock:
            chat_id = self._chat(chat).id

        def find() -> JSON | None:
            for position, snapshot in enumerate(self._bot_sent.get(chat_id, [])):
                key = (chat_id, position)
                if key in self._consumed:
                    continue
                candidate = copy.deepcopy(snapshot)
                if predicate is None or predicate(candidate):
                    self._consumed.add(key)
                    return candidate
            return None

        return self._wait(find, timeout, f"no new bot message in chat {chat_id}", chat_id)

    def wait_for_call(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 10.0
    ) -> Call:
        """The next recorded call of ``method`` (case-insensitive) not returned before."""
        wanted = method.lower()

        def find() -> Call | None:
            for position, call in enumerate(self._calls):
                if position in self._consumed_calls or call.method.lower() != wanted:
                    continue
                if predicate is None or predicate(call):
                    self._consumed_calls.add(position)
                    return call
            return None

        return self._wait(find, timeout, f"no new {method} call")

    def wait_for_callback_answer(self, query_id: str, timeout: float = 10.0) -> JSON:
        """The answerCallbackQuery parameters for ``query_id`` (text, show_alert, ...)."""

        def find() -> JSON | None:
            record = self._callbacks.get(query_id)
            return dict(record.answer) if record and record.answer is not None else None

        return self._wait(find, timeout, f"callback query {query_id} was not answered")

    def wait_for_inline_answer(self, query_id: str, timeout: float = 10.0) -> JSON:
        """The answerInlineQuery parameters for ``query_id`` (results, cache_time, ...)."""

        def find() -> JSON | None:
            record = self._inline_queries.get(query_id)
            return copy.deepcopy(record.answer) if record and record.answer else None

        return self._wait(find, timeout, f"inline query {query_id} was not answered")

    def wait_until_idle(self, timeout: float = 10.0, settle: float = 0.25) -> None:
        """Until every queued update was fetched by the bot, no request is in flight and
        nothing happened for ``settle`` seconds (so the bot finished reacting)."""

        def find() -> bool | None:
            unfetched = any(u["update_id"] > self._max_fetched for u in self._queue)
            quiet = time.monotonic() - self._last_activity >= settle
            return True if not unfetched and self._inflight == 0 and quiet else None

        self._wait(find, timeout, "the bot did not become idle", poll=settle / 2)

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[Call]:
        """Rejected calls (excluding long polls superseded by a newer getUpdates)."""
        with self._lock:
            return [c for c in self._calls if not c.ok and not c.superseded]

    @property
    def conflicts(self) -> list[Call]:
        """getUpdates long polls terminated by a newer one (409 Conflict)."""
        with self._lock:
            return [c for c in self._calls if c.superseded]

    @property
    def updates(self) -> list[JSON]:
        """Every update ever queued, in order."""
        with self._lock:
            return copy.deepcopy(self._all_updates)

    @property
    def pending_updates(self) -> list[JSON]:
        """Queued updates not yet confirmed by the bot (getUpdates offset)."""
        with self._lock:
            return copy.deepcopy(self._queue)

    @property
    def commands(self) -> dict[tuple[str, str], list[JSON]]:
        """setMyCommands state: ``{(scope_key, language_code): [BotCommand, ...]}``.

        scope_key is "default", "all_private_chats", "all_group_chats",
        "all_chat_administrators", "chat:<id>", "chat_administrators:<id>" or
        "chat_member:<chat_id>:<user_id>"; language_code is "" when not given.
        """
        with self._lock:
            return copy.deepcopy(self._commands)

    @property
    def webhook(self) -> JSON | None:
        with self._lock:
            return copy.deepcopy(self._webhook)

    @property
    def menu_buttons(self) -> dict[int | None, JSON]:
        """setChatMenuButton state; key None is the bot's default menu button."""
        with self._lock:
            return copy.deepcopy(self._menu_buttons)

    def messages(self, chat: ChatRef) -> list[JSON]:
        """The chat history (user and bot messages, deleted ones removed), oldest first."""
        with self._lock:
            return copy.deepcopy(self._history.get(self._chat(chat).id, []))

    def bot_messages(self, chat: ChatRef) -> list[JSON]:
        """Every message the bot sent in the chat, as sent (including later deleted)."""
        with self._lock:
            return copy.deepcopy(self._bot_sent.get(self._chat(chat).id, []))

    def get_message(self, chat: ChatRef, message_id: int) -> JSON | None:
        """The current state of a message (after edits), None if missing/deleted."""
        with self._lock:
            stored = self._index.get((self._chat(chat).id, message_id))
            return copy.deepcopy(stored) if stored is not None else None

    @property
    def deleted_messages(self) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._deleted)

    def unanswered_callback_queries(self) -> list[str]:
        with self._lock:
            return [q.id for q in self._callbacks.values() if not q.answered]

    def unanswered_inline_queries(self) -> list[str]:
        with self._lock:
            return [q.id for q in self._inline_queries.values() if not q.answered]

    def callback_answer(self, query_id: str) -> JSON | None:
        with self._lock:
            record = self._callbacks.get(query_id)
            return dict(record.answer) if record and record.answer is not None else None

    def inline_answer(self, query_id: str) -> JSON | None:
        with self._lock:
            record = self._inline_queries.get(query_id)
            return copy.deepcopy(record.answer) if record and record.answer else None

    def get_commands(self, scope: str = "default", language_code: str = "") -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._commands.get((scope, language_code), []))

    def assert_clean(self, allowed_errors: Iterable[str] = ()) -> None:
        """Raise AssertionError if a call was rejected (injected faults and errors whose
        description contains one of ``allowed_errors`` excepted) or a callback query was
        left unanswered."""
        allowed = tuple(allowed_errors)
        with self._lock:
            rejected = [
                c
                for c in self.errors
                if not c.injected and not any(a in (c.description or "") for a in allowed)
            ]
            unanswered = self.unanswered_callback_queries()
            if rejected or unanswered:
                lines = ["the Bot API emulator saw problems:"]
                lines += [f"  rejected: {c.summary()}" for c in rejected]
                lines += [f"  unanswered callback query: {q}" for q in unanswered]
                raise AssertionError("\n".join(lines) + "\n" + self.dump())

    def inject_error(
        self,
        method: str,
        description: str = "Bad Request: injected failure",
        error_code: int = 400,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (e.g. 429 with retry_after)."""
        if retry_after is not None and error_code == 400:
            error_code = 429
            if description == "Bad Request: injected failure":
                description = f"Too Many Requests: retry after {retry_after}"
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        with self._lock:
            self._faults.append(
                _Fault(method.lower(), ApiError(error_code, description, parameters), times)
            )

    def slow_down(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` take ``seconds`` longer (0 to undo)."""
        with self._lock:
            self._latency[method.lower()] = seconds

    def dump(self, chat: ChatRef | None = None, limit: int = 20) -> str:
        """A human-readable state summary (used in timeout/assertion messages)."""
        with self._lock:
            lines = [
                f"--- emulator state: {len(self._queue)} unconfirmed update(s), fetched up to "
                f"#{self._max_fetched}, {self._inflight} request(s) in flight, "
                f"{len(self._calls)} call(s) ---"
            ]
            lines.append("last calls:")
            lines += [f"  {c.summary()}" for c in self._calls[-limit:]] or ["  (none)"]
            chat_ids = [self._chat(chat).id] if chat is not None else list(self._history)
            for chat_id in chat_ids[:5]:
                lines.append(f"chat {chat_id} history:")
                for msg in self._history.get(chat_id, [])[-limit:]:
                    author = "bot" if (chat_id, msg["message_id"]) in self._bot_keys else "user"
                    body = msg.get("text", msg.get("caption", "<media>"))
                    keyboard = msg.get("reply_markup", {}).get("inline_keyboard")
                    suffix = f" [keyboard: {keyboard}]" if keyboard else ""
                    lines.append(f"  #{msg['message_id']} {author}: {body!r}{suffix}")
            unanswered = [q.id for q in self._callbacks.values() if not q.answered]
            if unanswered:
                lines.append(f"unanswered callback queries: {unanswered}")
            return "\n".join(lines)

    # ----------------------------------------------------------------- internals: model

    @staticmethod
    def _bot_status(is_admin: bool, is_member: bool) -> str:
        if is_admin:
            return "administrator"
        return "member" if is_member else "left"

    def _user(self, ref: UserRef) -> User:
        if isinstance(ref, User):
            return self._users.setdefault(ref.id, ref)
        user_id = ref["id"] if isinstance(ref, dict) else ref
        user = self._users.get(int(user_id))
        if user is None:
            raise KeyError(f"unknown user {user_id}")
        return user

    def _chat(self, ref: ChatRef) -> Chat:
        if isinstance(ref, Chat):
            return self._chats.setdefault(ref.id, ref)
        chat_id = int(ref["id"] if isinstance(ref, dict) else ref)
        chat = self._chats.get(chat_id)
        if chat is None and chat_id in self._users:
            return self._private_chat(self._users[chat_id])
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}")
        return chat

    def _private_chat(self, user: User) -> Chat:
        chat = self._chats.get(user.id)
        if chat is None:
            chat = Chat(
                user.id,
                "private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self._chats[user.id] = chat
        return chat

    def _set_blocked(self, user: UserRef, *, blocked: bool) -> None:
        with self._cond:
            sender = self._user(user)
            chat = self._private_chat(sender)
            if chat.blocked == blocked:
                return
            chat.blocked = blocked
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            payload: JSON = {
                "chat": chat.to_dict(),
                "from": sender.to_dict(),
                "date": int(time.time()),
                "old_chat_member": self._member_dict(self.bot_user, old, chat),
                "new_chat_member": self._member_dict(self.bot_user, new, chat),
            }
            self._enqueue("my_chat_member", payload)

    def _stored(self, message: JSON) -> JSON:
        key = (int(message["chat"]["id"]), int(message["message_id"]))
        stored = self._index.get(key)
        if stored is None:
            raise AssertionError(f"message {key} does not exist (deleted?)")
        return stored

    def _new_message(self, chat: Chat, sender: JSON | None, sender_chat: JSON | None) -> JSON:
        message_id = self._next_message_id.get(chat.id, 1)
        self._next_message_id[chat.id] = message_id + 1
        message: JSON = {"message_id": message_id}
        if sender is not None:
            message["from"] = copy.deepcopy(sender)
        if sender_chat is not None:
            message["sender_chat"] = copy.deepcopy(sender_chat)
        message["chat"] = chat.to_dict()
        message["date"] = int(time.time())
        return message

    def _store(self, message: JSON) -> None:
        chat_id = message["chat"]["id"]
        self._history.setdefault(chat_id, []).append(message)
        self._index[(chat_id, message["message_id"])] = message
        self._last_activity = time.monotonic()
        self._cond.notify_all()

    @staticmethod
    def _reply_snapshot(message: JSON) -> JSON:
        snapshot = copy.deepcopy(message)
        snapshot.pop("reply_to_message", None)  # Telegram does not nest replies further
        return snapshot

    @staticmethod
    def _thread_of(reply_to: JSON | None) -> int | None:
        if reply_to is None:
            return None
        if reply_to.get("message_thread_id") is not None:
            return int(reply_to["message_thread_id"])
        if reply_to.get("is_automatic_forward"):
            return int(reply_to["message_id"])  # comment threads hang off the forward
        return None

    def _user_message(
        self, user: UserRef, chat: ChatRef, content: JSON, reply_to: JSON | int | None = None
    ) -> JSON:
        with self._cond:
            sender = self._user(user)
            target = self._chat(chat)
            if target.type == "channel":
                raise ValueError("users do not write in channels: use channel_post()")
            if target.type == "private":
                if target.id != sender.id:
                    raise ValueError("a private chat with the bot belongs to one user")
                target.opened = True
            elif target.members.get(sender.id) in (None, "left"):
                target.members[sender.id] = "member"
            replied: JSON | None = None
            if reply_to is not None:
                reply_id = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
                replied = self._index.get((target.id, int(reply_id)))
                if replied is None:
                    raise AssertionError(f"message {reply_id} does not exist in chat {target.id}")
            message = self._new_message(target, sender.to_dict(), None)
            thread = self._thread_of(replied)
            if thread is not None and target.type == "supergroup":
                message["message_thread_id"] = thread
            if replied is not None:
                message["reply_to_message"] = self._reply_snapshot(replied)
            message.update(content)
            self._store(message)
            if self._should_deliver(target, message):
                self._enqueue("message", message)
            return copy.deepcopy(message)

    def _should_deliver(self, chat: Chat, message: JSON) -> bool:
        """Would Telegram send this (non-bot) group/private message to the bot?"""
        if chat.type == "private":
            return not chat.blocked
        if chat.bot_status not in ("administrator", "member"):
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        if message.get("is_automatic_forward"):
            return True
        via_bot = message.get("via_bot") or {}
        if via_bot.get("id") == self.bot_id:
            return True
        replied = message.get("reply_to_message")
        if replied and (chat.id, replied["message_id"]) in self._bot_keys:
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            fragment = text[entity["offset"] : entity["offset"] + entity["length"]]
            if entity["type"] == "bot_command":
                target = fragment.partition("@")[2]
                if not target or target.lower() == self.bot_username.lower():
                    return True
            if entity["type"] == "mention" and fragment[1:].lower() == self.bot_username.lower():
                return True
        return False

    def _enqueue(self, kind: str, payload: JSON) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: copy.deepcopy(payload)}
        self._queue.append(update)
        self._all_updates.append(update)
        self._last_activity = time.monotonic()
        self._cond.notify_all()
        return update_id

    def _update_allowed(self, update: JSON) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _auto_forward(self, post: JSON) -> None:
        channel = self._chats[post["chat"]["id"]]
        group = self._chats.get(channel.linked_chat_id) if channel.linked_chat_id else None
        if group is None:
            return
        forward = self._new_message(group, TELEGRAM_SERVICE_USER, channel.to_dict())
        origin: JSON = {
            "type": "channel",
            "chat": channel.to_dict(),
            "message_id": post["message_id"],
            "date": post["date"],
        }
        if post.get("author_signature"):
            origin["author_signature"] = post["author_signature"]
        forward["forward_origin"] = origin
        forward["is_automatic_forward"] = True
        for key in CONTENT_KEYS:
            if key in post:
                forward[key] = copy.deepcopy(post[key])
        self._store(forward)
        self._auto_forwards[(channel.id, post["message_id"])] = (group.id, forward["message_id"])
        if self._should_deliver(group, forward):
            self._enqueue("message", forward)

    def _png(self, width: int, height: int) -> bytes:
        key = (width, height)
        if key not in self._png_cache:
            self._png_cache[key] = make_png(width, height)
        return self._png_cache[key]

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> _StoredFile:
        number = next(self._file_ids)
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photo":
            extension = ".jpg"
        stored = _StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number:08d}AAQ-{self.bot_id}",
            file_unique_id=f"AQAD{number:08d}",
            kind=kind,
            data=data,
            file_path=f"{kind}s/file_{number}{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, data: bytes, width: int, height: int) -> list[JSON]:
        sizes: list[JSON] = []
        seen: set[tuple[int, int]] = set()
        for limit in (90, 320, 800, 1280):
            scale = min(1.0, limit / max(width, height, 1))
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            if size in seen:
                continue
            seen.add(size)
            stored = self._store_file("photo", data, mime_type="image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(data),
                    "width": size[0],
                    "height": size[1],
                }
            )
            if scale >= 1.0:
                break
        return sizes

    @staticmethod
    def _document_dict(stored: _StoredFile) -> JSON:
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    @staticmethod
    def _add_caption(content: JSON, caption: str | None) -> None:
        if caption:
            content["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                content["caption_entities"] = entities

    def _member_dict(self, user: JSON, status: str, chat: Chat) -> JSON:
        member: JSON = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=True,
                can_edit_stories=True,
                can_delete_stories=True,
            )
            if chat.type == "channel":
                member.update(can_post_messages=True, can_edit_messages=True)
            else:
                member.update(can_pin_messages=True)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _wait(
        self,
        find: Callable[[], _T | None],
        timeout: float,
        what: str,
        chat_id: int | None = None,
        poll: float = 0.5,
    ) -> _T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout:.1f}s: {what}\n{self.dump(chat_id)}"
                    )
                self._cond.wait(min(remaining, poll))

    # ----------------------------------------------------------------- internals: HTTP

    def _handle_http(
        self, verb: str, raw_path: str, headers: email.message.Message, body: bytes
    ) -> tuple[int, bytes, str]:
        started = time.time()
        parts = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parts.path)
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :])
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)/?", path)
        if match is None:
            return self._json_error(ApiError(404, "Not Found"))
        token, method = match.groups()
        if token != self.token:
            # Telegram: 401 for a well-formed but wrong token, 404 for a malformed one.
            error = (
                ApiError(401, "Unauthorized")
                if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token)
                else ApiError(404, "Not Found")
            )
            self._record(Call(method, {}, started, note="wrong token"), error)
            return self._json_error(error)
        entry = self._methods.get(method.lower())
        if entry is None:
            error = ApiError(404, "Not Found")
            note = "unknown method (or one the emulator does not model)"
            self._record(Call(method, {}, started, note=note), error)
            return self._json_error(error)
        name, handler = entry
        try:
            params = self._parse_request(verb, parts.query, headers, body)
        except ApiError as error:
            self._record(Call(name, {}, started), error)
            return self._json_error(error)
        call = Call(name, self._describe_params(params), started)
        is_poll = name == "getUpdates"
        with self._lock:
            if not is_poll:
                self._inflight += 1
        try:
            result = self._invoke(name, handler, params, call)
        except ApiError as error:
            self._record(call, error)
            return self._json_error(error)
        except Exception as exc:  # an emulator bug must surface in the test, not hang it
            call.note = traceback.format_exc()
            crash = ApiError(500, f"Internal Server Error: emulator crashed: {exc!r}")
            self._record(call, crash)
            return self._json_error(crash)
        finally:
            with self._cond:
                if not is_poll:
                    self._inflight -= 1
                    self._last_activity = time.monotonic()
                self._cond.notify_all()
        self._record(call, None, result)
        return 200, json.dumps({"ok": True, "result": result}).encode(), "application/json"

    def _invoke(
        self, name: str, handler: Callable[[_Params], Any], params: _Params, call: Call
    ) -> Any:
        with self._lock:
            for fault in self._faults:
                if fault.method == name.lower() and fault.times > 0:
                    fault.times -= 1
                    call.injected = True
                    raise fault.error
        if name == "getUpdates":
            return self._get_updates(params, call)  # waits without holding the lock
        delay = self._latency.get(name.lower(), 0.0)
        if delay:
            time.sleep(delay)  # a slow Telegram, without holding the lock
        with self._lock:
            return handler(params)

    def _record(self, call: Call, error: ApiError | None, result: Any = None) -> None:
        with self._cond:
            call.duration = time.time() - call.time
            if error is None:
                call.ok = True
                call.result = copy.deepcopy(result)
            else:
                call.error_code = error.error_code
                call.description = error.description
            self._calls.append(call)
            self._cond.notify_all()

    @staticmethod
    def _json_error(error: ApiError) -> tuple[int, bytes, str]:
        payload: JSON = {
            "ok": False,
            "error_code": error.error_code,
            "description": error.description,
        }
        if error.parameters:
            payload["parameters"] = error.parameters
        return error.error_code, json.dumps(payload).encode(), "application/json"

    def _serve_file(self, rest: str) -> tuple[int, bytes, str]:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return self._json_error(ApiError(404, "Not Found"))
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None:
            return self._json_error(ApiError(404, "Not Found"))
        return 200, stored.data, stored.mime_type or "application/octet-stream"

    @staticmethod
    def _parse_request(
        verb: str, query: str, headers: email.message.Message, body: bytes
    ) -> _Params:
        values: JSON = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        content_type = headers.get_content_type()
        if body:
            if content_type == "application/json":
                try:
                    decoded = json.loads(body)
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(decoded, dict):
                    raise _bad("JSON object expected")
                values.update(decoded)
            elif content_type == "multipart/form-data":
                boundary = headers.get_param("boundary")
                if not isinstance(boundary, str):
                    raise _bad("multipart boundary is missing")
                form, files = _parse_multipart(body, boundary)
                values.update(form)
            else:  # application/x-www-form-urlencoded (also the default)
                text = body.decode("utf-8", "surrogateescape")
                values.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
        return _Params(_decode_json_params(values), files)

    @staticmethod
    def _describe_params(params: _Params) -> JSON:
        described = copy.deepcopy(params.values)
        for name, upload in params.files.items():
            described[name] = {
                "upload": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        return described

    # ----------------------------------------------------------------- internals: validation

    def _resolve_chat(self, raw: Any, name: str = "chat_id") -> Chat:
        if raw is None or raw == "":
            raise _bad(f"{name} is empty")
        if isinstance(raw, str) and raw.strip().startswith("@"):
            wanted = raw.strip()[1:].lower()
            for candidate in self._chats.values():
                if candidate.type != "private" and (candidate.username or "").lower() == wanted:
                    return candidate
            raise _bad("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None and chat_id in self._users:
            chat = self._private_chat(self._users[chat_id])
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _check_can_send(self, chat: Chat) -> None:
        if chat.type == "private":
            if chat.blocked:
                raise _forbidden("bot was blocked by the user")
            if not chat.opened:
                raise _forbidden("bot can't initiate conversation with a user")
            return
        if chat.type in ("group", "supergroup"):
            if chat.bot_status == "kicked":
                raise _forbidden(f"bot was kicked from the {chat.type} chat")
            if chat.bot_status == "left":
                raise _forbidden(f"bot is not a member of the {chat.type} chat")
            return
        if chat.bot_status in ("left", "kicked"):
            raise _forbidden("bot is not a member of the channel chat")
        if chat.bot_status != "administrator":
            raise _bad("need administrator rights in the channel chat")

    def _prepare_text(
        self, text: Any, parse_mode: Any, entities: Any, *, caption: bool = False
    ) -> tuple[str, list[JSON]]:
        """Apply parse_mode/entities, trim, and enforce the length rules."""
        raw = "" if text is None else str(text)
        mode = str(parse_mode or "").strip()
        if mode.lower() == "html":
            try:
                plain, parsed = parse_html(
                    raw,
                    strict_ampersand=self.strict_html_ampersand,
                    known_users={uid: u.to_dict() for uid, u in self._users.items()},
                )
            except HtmlParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode:
            if mode.lower() in ("markdown", "markdownv2"):
                raise _bad(f'unsupported parse_mode "{mode}": the emulator models only HTML')
            raise _bad("unsupported parse_mode")
        else:
            plain, parsed = raw, self._explicit_entities(raw, entities)
        plain, parsed = _trim(plain, parsed)
        if not caption and not plain:
            raise _bad("message text is empty")
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if utf16_len(plain) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return plain, _sort_entities([*parsed, *detect_entities(plain, parsed)])

    @staticmethod
    def _explicit_entities(text: str, entities: Any) -> list[JSON]:
        if entities is None:
            return []
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        total = utf16_len(text)
        result: list[JSON] = []
        for entity in entities:
            if not isinstance(entity, dict) or not {"type", "offset", "length"} <= entity.keys():
                raise _bad("can't parse MessageEntity: type, offset and length are required")
            offset, length = int(entity["offset"]), int(entity["length"])
            if offset < 0 or length <= 0 or offset + length > total:
                continue  # Telegram silently drops entities outside the text
            result.append({**entity, "offset": offset, "length": length})
        return result

    def _validate_markup(self, markup: Any, *, inline_only: bool = False) -> JSON | None:
        """Check reply_markup; returns the inline keyboard to store on the message."""
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            raise _bad("can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._validate_inline_keyboard(markup["inline_keyboard"])
            return {"inline_keyboard": copy.deepcopy(markup["inline_keyboard"])}
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
            buttons = [b for row in rows for b in row]
            if len(buttons) > 300:
                raise _bad("reply markup is too long")
            for button in buttons:
                label = button.get("text") if isinstance(button, dict) else button
                if not isinstance(label, str) or not label:
                    raise _bad("can't parse keyboard button: text must be a non-empty String")
            return None
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return None
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _validate_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        buttons = [button for row in rows for button in row]
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise _bad("reply markup is too long")
        for button in buttons:
            if not isinstance(button, dict):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            if not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not button["text"]:
                raise _bad("BUTTON_TEXT_INVALID")
            actions = [name for name in BUTTON_ACTIONS if button.get(name) is not None]
            if not actions:
                raise _bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in "
                    "the inline keyboard"
                )
            if len(actions) > 1:
                raise _bad(
                    "can't parse inline keyboard button: exactly one of the optional "
                    f"fields must be used, got {', '.join(actions)}"
                )
            data = button.get("callback_data")
            if data is not None and (
                not isinstance(data, str)
                or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None:
                scheme = urllib.parse.urlsplit(str(url)).scheme.lower()
                if scheme not in ("http", "https", "tg") or (
                    scheme != "tg" and not _is_http_url(str(url))
                ):
                    raise _bad("BUTTON_URL_INVALID")

    def _resolve_reply(self, params: _Params, chat: Chat) -> JSON | None:
        reply = params.json_value("reply_parameters")
        allow_missing = params.flag("allow_sending_without_reply")
        target_chat = chat
        if reply is not None:
            if not isinstance(reply, dict) or "message_id" not in reply:
                raise _bad("can't parse ReplyParameters JSON object")
            message_id = reply["message_id"]
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
            if reply.get("chat_id") is not None:
                target_chat = self._resolve_chat(reply["chat_id"])
        elif params.has("reply_to_message_id"):
            message_id = params.integer("reply_to_message_id")
        else:
            return None
        try:
            found = self._index.get((target_chat.id, int(message_id)))
        except (TypeError, ValueError):
            found = None
        if found is None:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return found

    def _thread_param(self, params: _Params, chat: Chat, replied: JSON | None) -> int | None:
        thread = params.integer("message_thread_id")
        if thread is not None and chat.type == "supergroup":
            if (chat.id, thread) not in self._index and not chat.is_forum:
                raise _bad("message thread not found")
            return thread
        return self._thread_of(replied) if chat.type == "supergroup" else None

    def _bot_message(self, chat: Chat, params: _Params, content: JSON, markup: JSON | None) -> JSON:
        """Create, store and index a message sent by the bot."""
        replied = self._resolve_reply(params, chat)
        thread = self._thread_param(params, chat, replied)
        if chat.type == "channel":
            message = self._new_message(chat, None, chat.to_dict())
        else:
            message = self._new_message(chat, self.bot_user, None)
        if thread is not None:
            message["message_thread_id"] = thread
        if replied is not None:
            message["reply_to_message"] = self._reply_snapshot(replied)
        message.update(content)
        if markup is not None:
            message["reply_markup"] = markup
        if params.flag("protect_content"):
            message["has_protected_content"] = True
        self._store(message)
        self._bot_keys.add((chat.id, message["message_id"]))
        self._bot_sent.setdefault(chat.id, []).append(copy.deepcopy(message))
        if chat.type == "channel":
            self._auto_forward(message)
        return copy.deepcopy(message)

    def _target_message(self, params: _Params, action: str) -> tuple[JSON, bool]:
        """The message addressed by chat_id+message_id or inline_message_id."""
        inline_id = params.text("inline_message_id")
        if inline_id:
            key = self._inline_messages.get(inline_id)
            if key is None or key not in self._index:
                raise _bad("MESSAGE_ID_INVALID")
            return self._index[key], True
        chat = self._resolve_chat(params.raw("chat_id"))
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = self._index.get((chat.id, message_id))
        if stored is None:
            raise _bad(f"message to {action} not found")
        if (chat.id, message_id) not in self._bot_keys:
            raise _bad(f"message can't be {action}ed")
        return stored, False

    def _media(self, params: _Params, name: str, kind: str) -> tuple[_StoredFile, bool]:
        """The file of sendPhoto/sendDocument: an upload, a known file_id or a URL."""
        upload = params.file(name)
        if upload is not None:
            if kind == "photo" and image_size(upload.data) is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            if not upload.data:
                raise _bad("file must be non-empty")
            mime = upload.content_type
            return self._store_file(
                kind, upload.data, file_name=upload.filename, mime_type=mime
            ), True
        reference = params.text(name)
        if not reference:
            raise _bad(f"there is no {name} in the request")
        known = self._files.get(reference)
        if known is not None:
            if kind == "photo" and known.kind != "photo":
                raise _bad(f"can't use file of type {known.kind.capitalize()} as Photo")
            return known, False
        if _is_http_url(reference):
            # The emulator cannot download: it pretends the URL pointed at a small image.
            file_name = urllib.parse.urlsplit(reference).path.rsplit("/", 1)[-1] or None
            data = self._png(320, 240) if kind == "photo" else b"downloaded by emulator"
            mime = "image/png" if kind == "photo" else "application/octet-stream"
            return self._store_file(kind, data, file_name=file_name, mime_type=mime), True
        raise _bad("wrong file identifier/HTTP URL specified")

    def _caption_content(self, params: _Params) -> JSON:
        content: JSON = {}
        caption = params.text("caption")
        if caption:
            text, entities = self._prepare_text(
                caption,
                params.raw("parse_mode"),
                params.json_value("caption_entities"),
                caption=True,
            )
            if text:
                content["caption"] = text
                if entities:
                    content["caption_entities"] = entities
        return content

    def _inline_result_content(self, result: JSON) -> JSON:
        content = result.get("input_message_content") or {}
        if "message_text" in content:
            text, entities = self._prepare_text(
                content["message_text"], content.get("parse_mode"), content.get("entities")
            )
            message: JSON = {"text": text}
            if entities:
                message["entities"] = entities
            return message
        return {"text": str(result.get("title") or result.get("id"))}

    # ----------------------------------------------------------------- API methods

    def _m_true(self, params: _Params) -> bool:
        return True

    def _m_get_me(self, params: _Params) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_get_updates(self, params: _Params) -> list[JSON]:
        raise AssertionError("unreachable: _invoke() long-polls without holding the lock")

    def _get_updates(self, params: _Params, call: Call) -> list[JSON]:
        offset = params.integer("offset")
        limit = max(1, min(100, params.integer("limit") or 100))
        timeout = max(0, params.integer("timeout") or 0)
        allowed = params.json_value("allowed_updates")
        with self._cond:
            if self._webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            if allowed is not None:
                if not isinstance(allowed, list):
                    raise _bad("can't parse allowed_updates JSON object")
                self._allowed_updates = frozenset(map(str, allowed)) if allowed else None
            if offset:
                # Confirm everything below offset; a negative offset keeps the last -offset.
                if offset > 0:
                    self._queue = [u for u in self._queue if u["update_id"] >= offset]
                else:
                    self._queue = self._queue[offset:]
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # wakes an older poll, which then answers 409
            deadline = time.monotonic() + timeout
            while True:
                if self._stopping:
                    return []
                if generation != self._poll_generation:
                    call.superseded = True
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                # Updates of types the bot did not ask for are never delivered.
                self._queue = [u for u in self._queue if self._update_allowed(u)]
                remaining = deadline - time.monotonic()
                if self._queue or remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch = copy.deepcopy(self._queue[:limit])
            if batch:
                self._max_fetched = max(self._max_fetched, batch[-1]["update_id"])
                self._last_activity = time.monotonic()
            return batch

    def _m_set_webhook(self, params: _Params) -> bool:
        url = params.text("url") or ""
        if url and not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.flag("drop_pending_updates"):
            self._queue.clear()
        self._webhook = dict(params.values) if url else None
        return True

    def _m_delete_webhook(self, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._queue.clear()
        self._webhook = None
        return True

    def _m_get_webhook_info(self, params: _Params) -> JSON:
        info: JSON = {
            "url": (self._webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self._webhook is not None:
            info["max_connections"] = int(self._webhook.get("max_connections") or 40)
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _command_key(self, params: _Params) -> tuple[str, str]:
        scope = params.json_value("scope")
        language = params.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        if scope is None:
            return "default", language
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        if kind in self._COMMAND_SCOPES:
            return kind, language
        if kind in ("chat", "chat_administrators"):
            chat = self._resolve_chat(scope.get("chat_id"))
            return f"{kind}:{chat.id}", language
        if kind == "chat_member":
            chat = self._resolve_chat(scope.get("chat_id"))
            user_id = scope.get("user_id")
            if user_id is None or int(user_id) not in self._users:
                raise _bad("user not found")
            return f"chat_member:{chat.id}:{int(user_id)}", language
        raise _bad("wrong BotCommandScope type specified")

    def _m_set_my_commands(self, params: _Params) -> bool:
        commands = params.json_value("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad("too many commands specified")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand: BotCommand must be an Object")
            for name in ("command", "description"):
                if name not in command:
                    raise _bad(f"can't parse BotCommand: Can't find field \"{name}\"")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command["command"])):
                raise _bad("BOT_COMMAND_INVALID")
            description = str(command["description"]).strip()
            if not description:
                raise _bad("command description must be non-empty")
            if len(description) > MAX_COMMAND_DESCRIPTION:
                raise _bad("command description is too long")
        key = self._command_key(params)
        if commands:
            self._commands[key] = [
                {"command": str(c["command"]), "description": str(c["description"])}
                for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _m_get_my_commands(self, params: _Params) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._command_key(params), []))

    def _m_delete_my_commands(self, params: _Params) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _m_set_bot_text(self, field_name: str) -> Callable[[_Params], bool]:
        limits = {"name": 64, "description": 512, "short_description": 120}

        def handler(params: _Params) -> bool:
            value = params.text(field_name) or ""
            if len(value) > limits[field_name]:
                raise _bad(f"bot {field_name.replace('_', ' ')} is too long")
            self._bot_texts[(field_name, params.text("language_code") or "")] = value
            return True

        return handler

    def _m_get_bot_text(self, field_name: str) -> Callable[[_Params], JSON]:
        def handler(params: _Params) -> JSON:
            language = params.text("language_code") or ""
            default = self.bot_first_name if field_name == "name" else ""
            return {field_name: self._bot_texts.get((field_name, language), default)}

        return handler

    def _m_set_chat_menu_button(self, params: _Params) -> bool:
        chat = self._resolve_chat(params.raw("chat_id")) if params.has("chat_id") else None
        if chat is not None and chat.type != "private":
            raise _bad("chat must be a private chat")
        button = params.json_value("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad("can't parse MenuButton JSON object")
        if button["type"] == "web_app" and not (button.get("text") and button.get("web_app")):
            raise _bad("can't parse MenuButton: text and web_app are required")
        self._menu_buttons[chat.id if chat else None] = copy.deepcopy(button)
        return True

    def _m_get_chat_menu_button(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id")) if params.has("chat_id") else None
        key = chat.id if chat else None
        button = self._menu_buttons.get(key) or self._menu_buttons.get(None)
        return copy.deepcopy(button) if button else {"type": "default"}

    def _m_send_message(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        self._check_can_send(chat)
        markup = self._validate_markup(params.json_value("reply_markup"))
        text, entities = self._prepare_text(
            params.raw("text"), params.raw("parse_mode"), params.json_value("entities")
        )
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(chat, params, content, markup)

    def _m_send_photo(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        self._check_can_send(chat)
        markup = self._validate_markup(params.json_value("reply_markup"))
        caption = self._caption_content(params)
        stored, _ = self._media(params, "photo", "photo")
        width, height = image_size(stored.data) or (320, 240)
        content: JSON = {"photo": self._photo_sizes(stored.data, width, height), **caption}
        return self._bot_message(chat, params, content, markup)

    def _m_send_document(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        self._check_can_send(chat)
        markup = self._validate_markup(params.json_value("reply_markup"))
        caption = self._caption_content(params)
        stored, _ = self._media(params, "document", "document")
        content: JSON = {"document": self._document_dict(stored), **caption}
        return self._bot_message(chat, params, content, markup)

    def _m_send_chat_action(self, params: _Params) -> bool:
        chat = self._resolve_chat(params.raw("chat_id"))
        if params.text("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._check_can_send(chat)
        return True

    def _source_message(self, params: _Params, action: str) -> JSON:
        source_chat = self._resolve_chat(params.raw("from_chat_id"), "from_chat_id")
        message_id = params.integer("message_id", required=True)
        source = self._index.get((source_chat.id, int(message_id or 0)))
        if source is None:
            raise _bad(f"message to {action} not found")
        if source.get("has_protected_content"):
            raise _bad(f"message can't be {action}ed")
        return source

    def _m_forward_message(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        self._check_can_send(chat)
        source = self._source_message(params, "forward")
        content = {k: copy.deepcopy(source[k]) for k in CONTENT_KEYS if k in source}
        origin = source.get("forward_origin")
        if origin is None:
            if source["chat"]["type"] == "channel":
                origin = {
                    "type": "channel",
                    "chat": source["chat"],
                    "message_id": source["message_id"],
                }
            elif source.get("sender_chat"):
                origin = {"type": "chat", "sender_chat": source["sender_chat"]}
            else:
                origin = {"type": "user", "sender_user": source.get("from", self.bot_user)}
            origin["date"] = source["date"]
        content["forward_origin"] = copy.deepcopy(origin)
        return self._bot_message(chat, params, content, None)

    def _m_copy_message(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        self._check_can_send(chat)
        markup = self._validate_markup(params.json_value("reply_markup"))
        source = self._source_message(params, "copy")
        content = {k: copy.deepcopy(source[k]) for k in CONTENT_KEYS if k in source}
        if params.has("caption") and "text" not in content:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption_content(params))
        copied = self._bot_message(chat, params, content, markup)
        return {"message_id": copied["message_id"]}

    def _apply_edit(
        self, stored: JSON, changes: JSON, markup: JSON | None, inline: bool
    ) -> JSON | bool:
        current = {k: stored.get(k) for k in changes}
        if current == changes and stored.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED)
        for key, value in changes.items():
            if value:
                stored[key] = value
            else:
                stored.pop(key, None)
        # An edit without reply_markup removes the inline keyboard, as on Telegram.
        if markup is None:
            stored.pop("reply_markup", None)
        else:
            stored["reply_markup"] = markup
        stored["edit_date"] = int(time.time())
        self._last_activity = time.monotonic()
        self._cond.notify_all()
        return True if inline else copy.deepcopy(stored)

    def _m_edit_message_text(self, params: _Params) -> JSON | bool:
        stored, inline = self._target_message(params, "edit")
        if "text" not in stored:
            raise _bad("there is no text in the message to edit")
        markup = self._validate_markup(params.json_value("reply_markup"), inline_only=True)
        text, entities = self._prepare_text(
            params.raw("text"), params.raw("parse_mode"), params.json_value("entities")
        )
        return self._apply_edit(
            stored, {"text": text, "entities": entities or None}, markup, inline
        )

    def _m_edit_message_caption(self, params: _Params) -> JSON | bool:
        stored, inline = self._target_message(params, "edit")
        if "text" in stored:
            raise _bad("there is no caption in the message to edit")
        markup = self._validate_markup(params.json_value("reply_markup"), inline_only=True)
        caption = self._caption_content(params)
        changes = {
            "caption": caption.get("caption"),
            "caption_entities": caption.get("caption_entities"),
        }
        return self._apply_edit(stored, changes, markup, inline)

    def _m_edit_message_reply_markup(self, params: _Params) -> JSON | bool:
        stored, inline = self._target_message(params, "edit")
        markup = self._validate_markup(params.json_value("reply_markup"), inline_only=True)
        return self._apply_edit(stored, {}, markup, inline)

    def _m_delete_message(self, params: _Params) -> bool:
        chat = self._resolve_chat(params.raw("chat_id"))
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        key = (chat.id, message_id)
        stored = self._index.get(key)
        if stored is None:
            raise _bad("message to delete not found")
        own = key in self._bot_keys
        if chat.type != "private" and not own and chat.bot_status != "administrator":
            raise _bad("message can't be deleted")
        if chat.type == "channel" and chat.bot_status != "administrator":
            raise _bad("message can't be deleted")
        del self._index[key]
        self._history[chat.id].remove(stored)
        self._deleted.append(copy.deepcopy(stored))
        self._last_activity = time.monotonic()
        self._cond.notify_all()
        return True

    def _m_answer_callback_query(self, params: _Params) -> bool:
        query_id = params.text("callback_query_id", required=True) or ""
        record = self._callbacks.get(query_id)
        if record is None or record.answered:
            raise _bad(QUERY_INVALID)
        text = params.text("text") or ""
        if utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        url = params.text("url")
        if url and not (url.startswith("t.me/") or _is_http_url(url) or url.startswith("tg://")):
            raise _bad("URL_INVALID")
        record.answered = True
        record.answer = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": url,
            "cache_time": params.integer("cache_time") or 0,
        }
        self._cond.notify_all()
        return True

    def _m_answer_inline_query(self, params: _Params) -> bool:
        query_id = params.text("inline_query_id", required=True) or ""
        record = self._inline_queries.get(query_id)
        if record is None or record.answered:
            raise _bad(QUERY_INVALID)
        results = params.json_value("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._validate_inline_result(result, seen)
        next_offset = params.text("next_offset") or ""
        if len(next_offset.encode("utf-8")) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        button = params.json_value("button")
        if button is not None:
            start = button.get("start_parameter") if isinstance(button, dict) else None
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad("can't parse InlineQueryResultsButton JSON object")
            if start is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(start)):
                raise _bad("START_PARAM_INVALID")
        record.answered = True
        record.answer = {
            "results": copy.deepcopy(results),
            "cache_time": params.integer("cache_time"),
            "is_personal": params.flag("is_personal"),
            "next_offset": next_offset,
            "button": copy.deepcopy(button),
        }
        self._inline_results[query_id] = copy.deepcopy(results)
        self._cond.notify_all()
        return True

    def _validate_inline_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise _bad("can't parse inline query result: InlineQueryResult must be an Object")
        for name in ("type", "id"):
            if name not in result:
                raise _bad(f"can't parse inline query result: Can't find field \"{name}\"")
        kind = str(result["type"])
        if kind not in INLINE_RESULT_TYPES:
            raise _bad(f'can\'t parse inline query result: Unsupported type "{kind}"')
        result_id = str(result["id"])
        if not 1 <= len(result_id.encode("utf-8")) <= MAX_INLINE_RESULT_ID_BYTES:
            raise _bad("RESULT_ID_INVALID")
        if result_id in seen:
            raise _bad("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if kind == "article":
            for name in ("title", "input_message_content"):
                if not result.get(name):
                    raise _bad(f"can't parse inline query result: Can't find field \"{name}\"")
        content = result.get("input_message_content")
        if content is not None:
            if not isinstance(content, dict):
                raise _bad("can't parse InputMessageContent JSON object")
            if "message_text" in content:
                self._prepare_text(
                    content["message_text"], content.get("parse_mode"), content.get("entities")
                )
        if result.get("caption"):
            self._prepare_text(
                result["caption"],
                result.get("parse_mode"),
                result.get("caption_entities"),
                caption=True,
            )
        if result.get("reply_markup") is not None:
            self._validate_markup(result["reply_markup"], inline_only=True)

    def _m_get_chat(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        if chat.type != "private" and chat.bot_status in ("left", "kicked"):
            raise _bad("chat not found")
        info = chat.to_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if chat.linked_chat_id is not None:
            info["linked_chat_id"] = chat.linked_chat_id
        return info

    def _member_status(self, chat: Chat, user_id: int) -> str:
        if user_id == self.bot_id:
            return "kicked" if chat.blocked else chat.bot_status
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    def _m_get_chat_member(self, params: _Params) -> JSON:
        chat = self._resolve_chat(params.raw("chat_id"))
        user_id = params.integer("user_id", required=True) or 0
        if user_id == self.bot_id:
            user = self.bot_user
        elif user_id in self._users:
            user = self._users[user_id].to_dict()
        else:
            raise _bad("user not found")
        return self._member_dict(user, self._member_status(chat, user_id), chat)

    def _m_get_chat_member_count(self, params: _Params) -> int:
        chat = self._resolve_chat(params.raw("chat_id"))
        if chat.type == "private":
            return 2
        humans = sum(1 for s in chat.members.values() if s not in ("left", "kicked"))
        return humans + (1 if chat.bot_status in ("administrator", "member") else 0)

    def _m_get_chat_administrators(self, params: _Params) -> list[JSON]:
        chat = self._resolve_chat(params.raw("chat_id"))
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        if chat.type == "channel" and chat.bot_status != "administrator":
            raise _bad("member list is inaccessible")
        admins = [
            self._member_dict(self._users[uid].to_dict(), status, chat)
            for uid, status in chat.members.items()
            if status in ("creator", "administrator") and uid in self._users
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_dict(self.bot_user, "administrator", chat))
        return admins

    def _m_get_file(self, params: _Params) -> JSON:
        file_id = params.text("file_id", required=True) or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
