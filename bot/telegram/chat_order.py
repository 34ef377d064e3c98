"""Different chats side by side, each chat's own updates one at a time and in order.

PTB handles updates one by one unless told otherwise: one slow Telegram call (a send hanging
until its timeout, a 429 waited out) held up every other patient. PTB's concurrent mode lifts
that, but lets two messages of one chat overtake each other: "/human" and the question typed
after it, a question and the "None of these" pressed under its answer. This update processor
runs updates concurrently and keeps each chat's order (a lock per chat, released when the
chat has nothing waiting).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates in progress at once (PTB's own default for concurrent processing).
MAX_CONCURRENT_UPDATES = 256


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential within a chat."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = order_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:  # asyncio's locks are fair: waiters go in arrival order
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up: locks are made per chat as updates arrive."""

    async def shutdown(self) -> None:
        """Nothing to free: a chat's lock goes with its last update."""


def order_key(update: object) -> int | None:
    """What an update must stay in order with: its chat, or for updates with no chat
    (inline queries) its user, whose private chat has the same id; None for anything else."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
