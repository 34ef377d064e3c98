"""Offline Telegram testing, the way PTB's own suite does it: the real Application, a
request layer that answers Bot API calls locally and records them, and update factories."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext
from telegram.request import RequestData

from bot.analytics.store import EventStore
from bot.content.knowledge import Knowledge
from bot.telegram.application import build_application
from bot.telegram.settings import BotSettings
from tests.e2e.botapi_emulator.html import parse_html
from tests.support.offline_request import OfflineRequest, error, ok

BOT = {"id": 777000, "is_bot": True, "first_name": "Clinic FAQ", "username": "clinic_faq_bot"}
TOKEN = "777000:offline-token"


@dataclass
class Call:
    method: str
    params: dict[str, Any]


class RecordingRequest(OfflineRequest):
    """Answers every Bot API call offline, checks outgoing HTML, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._message_ids = itertools.count(5000)
        self.fail_methods: set[str] = set()
        self.fail_chats: set[int | str] = set()  # e.g. a channel the bot may not post to
        # method -> Telegram's description of the 400 it answers (e.g. "message is not modified")
        self.fail_reasons: dict[str, str] = {}
        # method -> how many of its next calls get a 502 (a passing fault at Telegram)
        self.bad_gateway: dict[str, int] = {}
        # chat id -> calls to that chat hang until the event is set (a hung Telegram call)
        self.hold_chats: dict[int, asyncio.Event] = {}

    async def answer(self, api_method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call(api_method, params))
        held = self.hold_chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if held is not None:
            await held.wait()
        if self.bad_gateway.get(api_method, 0) > 0:
            self.bad_gateway[api_method] -= 1
            return 502, error(502, "Bad Gateway")
        if api_method in self.fail_reasons:
            return 400, error(400, f"Bad Request: {self.fail_reasons[api_method]}")
        if api_method in self.fail_methods or params.get("chat_id") in self.fail_chats:
            return 400, error(400, "Bad Request: test failure")
        if params.get("parse_mode") == "HTML" and "text" in params:
            parse_html(params["text"])  # raises like Telegram would on invalid HTML
        return 200, ok(self._result(api_method, params))

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getChat":
            return {
                "id": -1001000,
                "type": "channel",
                "title": "News",
                "linked_chat_id": DISCUSSION["id"],
                "accent_color_id": 0,
                "max_reaction_count": 11,
            }
        if method == "sendPhoto":
            return {
                "message_id": next(self._message_ids),
                "date": 0,
                "chat": {"id": params["chat_id"], "type": "private"},
                "photo": [],
            }
        if method in ("sendMessage", "editMessageText"):
            message_id = params.get("message_id") or next(self._message_ids)
            chat_id = params["chat_id"]
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat_of(chat_id),
                "from": BOT,
                "text": params["text"],
                **({"reply_markup": params["reply_markup"]} if "reply_markup" in params else {}),
            }
        return True

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]


@dataclass
class Harness:
    application: Application[Any, Any, Any, Any, Any, Any]
    request: RecordingRequest
    store: EventStore
    errors: list[BaseException] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, data: dict[str, Any]) -> None:
        data = {"update_id": next(self._ids), **data}
        await self.application.process_update(Update.de_json(data, self.application.bot))
        # Analytics events and inbox marks are written in the database thread: wait for
        # them, so a test reads what the update left behind.
        await self.application.bot_data.database.flush()

    async def text(
        self, text: str, user_id: int = 42, chat: dict[str, Any] | None = None, **message: Any
    ) -> None:
        await self.send({"message": message_dict(text, user_id, chat, **message)})

    async def press(
        self, data: str, user_id: int = 42, message: dict[str, Any] | None = None
    ) -> None:
        bot_message = message or {
            "message_id": 4000,
            "date": int(time.time()),
            "chat": private_chat(user_id),
            "from": BOT,
            "text": "menu",
        }
        query = {
            "id": f"q{next(self._ids)}",
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": bot_message,
        }
        await self.send({"callback_query": query})

    async def inline(self, query: str, user_id: int = 42) -> None:
        await self.send(
            {
                "inline_query": {
                    "id": f"iq{next(self._ids)}",
                    "from": user(user_id),
                    "query": query,
                    "offset": "",
                }
            }
        )


def user(user_id: int, first_name: str = "Ana") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def private_chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": "Ana"}


GROUP = {"id": -100123, "type": "supergroup", "title": "Skin care chat"}
DISCUSSION = {"id": -100456, "type": "supergroup", "title": "News chat"}
STAFF = {"id": -100789, "type": "supergroup", "title": "Staff"}


def message_dict(
    text: str, user_id: int = 42, chat: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A user's text message, with command and mention entities as Telegram would add them."""
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    mention = "@" + BOT["username"]
    if mention in text:
        entities.append({"type": "mention", "offset": text.index(mention), "length": len(mention)})
    return {
        "message_id": extra.pop("message_id", 10),
        "date": int(time.time()),
        "chat": chat or private_chat(user_id),
        "from": user(user_id),
        "text": text,
        **({"entities": entities} if entities else {}),
        **extra,
    }


@asynccontextmanager
async def offline_bot(
    knowledge: Knowledge,
    store: EventStore | None = None,
    content_dir: Path | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """The real Application over the recording request, ``store`` (an in-memory database by
    default), ``content_dir`` (where /reload reads; the shipped content by default) and
    ``settings`` (BotSettings fields such as admin_ids or staff_chat_id); collects any
    swallowed error."""
    request = RecordingRequest()
    store = store or EventStore.in_memory()
    bot_settings = BotSettings(token=TOKEN, analytics_salt="test", **settings)
    application = build_application(
        bot_settings, knowledge, request=request, store=store, content_dir=content_dir
    )
    harness = Harness(application, request, store)

    async def collect(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert context.error is not None
        harness.errors.append(context.error)

    application.add_error_handler(collect)
    async with application:
        yield harness


def _chat_of(chat_id: int | str) -> dict[str, Any]:
    if isinstance(chat_id, str) or int(chat_id) < -1_000_000_000_000:
        return {"id": -1001000, "type": "channel", "title": "News"}
    return {"id": int(chat_id), "type": "private" if int(chat_id) > 0 else "supergroup"}
