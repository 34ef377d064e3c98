"""The Bot API methods the emulator answers, one ``_m_<name>`` each."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from typing import Any

from .errors import ApiError, _bad
from .html import utf16_len
from .images import image_size
from .limits import (
    CHAT_ACTIONS,
    CONTENT_KEYS,
    INLINE_RESULT_TYPES,
    JSON,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_COMMAND_DESCRIPTION,
    MAX_COMMANDS,
    MAX_INLINE_RESULT_ID_BYTES,
    MAX_INLINE_RESULTS,
    NOT_MODIFIED,
    QUERY_INVALID,
)
from .model import Call, Chat, _is_http_url, _Params


class BotApiMethods:
    """The Bot API methods, one ``_m_<name>`` each; mixed into ``BotApiEmulator``, which
    holds the state they work on."""

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
