"""What Telegram checks in a request before acting on it: chats, texts, keyboards, files."""

from __future__ import annotations

import copy
import urllib.parse
from typing import Any

from .errors import HtmlParseError, _bad, _forbidden
from .html import _sort_entities, _trim, detect_entities, parse_html, utf16_len
from .images import image_size
from .limits import (
    BUTTON_ACTIONS,
    JSON,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_INLINE_BUTTONS,
    MAX_TEXT_LENGTH,
)
from .model import Chat, _is_http_url, _Params, _StoredFile


class RequestChecks:
    """The checks Telegram makes before acting on a request; mixed into ``BotApiEmulator``,
    which holds the state they read."""

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
