"""Telegram's side of webhook mode, for the emulator: queued updates are POSTed to the bot's
webhook URL, several chats at once but each chat's updates one after another (the next
only after the previous one got 200), and a delivery that fails is tried again until it
gets 200, as Telegram does."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .botapi_emulator import BotApiEmulator

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def chat_of(update: dict[str, Any]) -> int:
    """The chat an update belongs to (the user's, for what has no chat)."""
    for kind in ("message", "edited_message", "channel_post"):
        if kind in update:
            return int(update[kind]["chat"]["id"])
    if "callback_query" in update:
        query = update["callback_query"]
        message = query.get("message")
        return int(message["chat"]["id"]) if message else int(query["from"]["id"])
    for value in update.values():
        if isinstance(value, dict) and "from" in value:
            return int(value["from"]["id"])
    return 0


class WebhookPusher:
    """Pushes the emulator's updates to ``url`` until stopped; counts what it delivered."""

    def __init__(self, emu: BotApiEmulator, url: str, secret: str, connections: int = 8) -> None:
        self.emu, self.url, self.secret = emu, url, secret
        self.delivered = 0
        self.retries = 0
        self._waiting: dict[int, deque[dict[str, Any]]] = {}
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(connections)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WebhookPusher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def idle(self) -> bool:
        with self._lock:
            return not self._busy and not any(self._waiting.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            for update in self.emu.take_updates():
                with self._lock:
                    self._waiting.setdefault(chat_of(update), deque()).append(update)
            with self._lock:
                ready = [c for c, queue in self._waiting.items() if queue and c not in self._busy]
                for chat in ready:
                    self._busy.add(chat)
                    self._pool.submit(self._deliver, chat, self._waiting[chat].popleft())
            time.sleep(0.005)

    def _deliver(self, chat: int, update: dict[str, Any]) -> None:
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json", SECRET_HEADER: self.secret}
        while not self._stop.is_set():
            request = urllib.request.Request(self.url, data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            self.retries += 1
            time.sleep(0.2)
        with self._lock:
            self.delivered += 1
            self._busy.discard(chat)
