"""Each user's conversation state, kept in the bot's database across restarts.

PTB's persistence for user data only ("waiting for your question for the team", the last
unanswered question, what each "did you mean" was about). It lives in the analytics database
(table ``user_state``, private like the rest, deleted by ``/forget``), written through the
database thread a moment after it changes. A user's state that cannot be read back is
dropped with a warning: losing "waiting for your question" is far better than not starting.

The state is a small ``UserData`` object of plain values (context.py), stored pickled as
PTB's own PicklePersistence does; the database is the bot's own private file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.analytics.background import DatabaseWorker
from bot.telegram.context import BotData, UserData

log = logging.getLogger(__name__)

WRITE_INTERVAL = 1.0  # seconds between writes of changed state (PTB's update_interval)


_NOT_READ = object()  # no state was read ahead for this update


class DatabaseUserState(BasePersistence[UserData, dict[Any, Any], BotData]):
    """User data in the database; chat data, bot data and conversations are not kept."""

    def __init__(self, shared: bool = False) -> None:
        """``shared``: other workers serve the same users, so a user's state is read back
        from the database before each of their updates (``refresh_user_data``)."""
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=WRITE_INTERVAL,
        )
        self.database: DatabaseWorker | None = None  # set once the store is open
        self.shared = shared
        # Each user's state as last written or read here: state that differs from it has
        # changes not yet written, which a read-back must not overwrite.
        self._synced: dict[int, bytes | None] = {}
        # States read with the inbox check as an update arrived (``read_ahead``), used by
        # the refresh before that update instead of a second read.
        self._read_ahead: dict[int, bytes | None] = {}
        # Writes queued per user and not yet done: until they are, the database holds an
        # older state than this worker, and reading it back would undo the newer one.
        self._unwritten: Counter[int] = Counter()

    def _worker(self) -> DatabaseWorker:
        if self.database is None:
            raise RuntimeError("DatabaseUserState used before its database was set")
        return self.database

    async def get_user_data(self) -> dict[int, UserData]:
        database = self._worker()
        saved = await database.call(database.store.user_states)
        states: dict[int, UserData] = {}
        for user_id, blob in saved.items():
            state = _unpickled(blob)
            if state is not None:
                states[user_id] = state
                self._synced[user_id] = blob
        return states

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        blob = _pickled(data)
        self._synced[user_id] = blob
        self._write(user_id, blob)

    async def drop_user_data(self, user_id: int) -> None:
        self._synced[user_id] = None
        self._write(user_id, None)

    def _write(self, user_id: int, blob: bytes | None) -> None:
        database = self._worker()
        self._unwritten[user_id] += 1
        loop = asyncio.get_running_loop()
        written = database.later(database.store.save_user_state, user_id, blob)
        written.add_done_callback(lambda _: _call_soon(loop, self._done, user_id))

    def _done(self, user_id: int) -> None:
        self._unwritten[user_id] -= 1
        if self._unwritten[user_id] <= 0:
            del self._unwritten[user_id]

    def read_ahead(self, user_id: int, blob: bytes | None) -> None:
        """The user's saved state, read as their update arrived (``inbox.InboxApplication``
        asks for it in the same read as the inbox check): the refresh before that update
        uses it instead of reading again."""
        if self.shared:
            self._read_ahead[user_id] = blob

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        """With other workers: the user's state as the database has it now (their last
        message may have been handled elsewhere), unless this worker changed it and has not
        written it yet. One worker alone holds the state in memory: nothing to read."""
        if not self.shared:
            return
        read = self._read_ahead.pop(user_id, _NOT_READ)
        if user_id in self._unwritten or _pickled(user_data) != self._synced.get(user_id):
            return
        if isinstance(read, bytes) or read is None:
            blob = read
        else:
            database = self._worker()
            try:
                blob = await asyncio.to_thread(database.store.user_state, user_id)
            except SQLAlchemyError:
                log.warning("a user's conversation state could not be read: this worker's is used")
                return
        if blob == self._synced.get(user_id):
            return
        state = (_unpickled(blob) if blob is not None else None) or UserData()
        vars(user_data).clear()
        vars(user_data).update(vars(state))
        self._synced[user_id] = blob

    async def flush(self) -> None:
        """Wait for the queued writes (PTB calls this when the bot stops)."""
        await self._worker().flush()

    # Not kept: PersistenceInput above tells PTB so; these only satisfy the interface.
    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> BotData:
        return BotData()

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return {}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_bot_data(self, data: BotData) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: BotData) -> None:
        return None


def _pickled(data: UserData) -> bytes | None:
    """The state as stored; None for a state with nothing in it (no row is kept)."""
    return None if data.is_empty() else pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def _unpickled(blob: bytes) -> UserData | None:
    """A stored state; None (and a warning) for one that cannot be read back."""
    try:
        state = pickle.loads(blob)  # our own private database, as PicklePersistence
    except Exception as exc:  # a damaged row must not stop the bot
        log.warning("one user's conversation state is unreadable (%s): dropped", exc)
        return None
    if not isinstance(state, UserData):  # written by an older version of the bot
        log.warning("one user's conversation state is in an old format: dropped")
        return None
    return state


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[[int], None], user_id: int
) -> None:
    """Run ``callback`` on the event loop (from the database thread); a loop that has
    closed (the bot stopping) has no one left to tell."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, user_id)
