"""Every update handled exactly once, across crashes and redeliveries.

Telegram counts an update as delivered long before it is handled: long polling as soon as
the next batch is asked for, a webhook as soon as it answers 200. A process killed in
between lost those updates for good. Now every update is written to the database's inbox
before Telegram is told (``InboxQueue``), marked handled when its handlers have run
(```InboxApplication``), and the unhandled ones of a process that died are handled by its
successor or by another worker sharing the database (``take_over``). An update
seen handled before (a replay that Telegram also redelivers, a webhook retry) is skipped.

Writes go through the database thread (``bot.analytics.background``); only the check "handled
before?" reads on the event loop: an indexed read, which in WAL mode never waits for another
process's write lock, and which must not queue behind writes that do. With one worker, an
update numbered above everything the inbox held at start and everything taken since cannot
have been handled, and is not read at all (the read was a quarter of the cost of an update
in the end-to-end benchmark).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application

from bot.analytics.background import DatabaseWorker

log = logging.getLogger(__name__)
T = TypeVar("T")

# A worker says it is alive this often; one silent for WORKER_SILENCE is taken for dead and
# its unhandled updates are handled by another (or by its own successor).
ALIVE_EVERY = timedelta(seconds=3)
WORKER_SILENCE = timedelta(seconds=12)

# How long a chat's update waits for its earlier ones on other workers (longer than a dead
# worker's updates take to be taken over), and how often it looks (first often, as the
# earlier update is usually being answered right now, then less and less).
ORDER_PATIENCE = 30.0
ORDER_POLLS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)

# How long an arriving update waits for the inbox to keep it before it is handled anyway.
INBOX_PATIENCE = 3.0

# Update ids remembered in memory; older ones are checked in the database only.
TAKEN_LIMIT = 10_000


@runtime_checkable
class ReadAhead(Protocol):
    """A persistence that can take a user's saved state read on arrival, instead of reading
    it again before their update (``user_state.DatabaseUserState``)."""

    def read_ahead(self, user_id: int, blob: bytes | None) -> None: ...


class InboxApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application that skips handled updates and marks each one handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Update ids this process took on, most recent last: a redelivery can arrive while
        # the first copy is still being handled (chats are handled side by side), or before
        # its "handled" mark reached the database.
        self._taken: OrderedDict[int, None] = OrderedDict()
        # Webhook requests waiting for their update to be handled (``handled``).
        self._handled: dict[int, asyncio.Future[None]] = {}
        # The highest update id in the inbox when this process first looked (None: not yet
        # known), and the highest this process took on since (see ``_brand_new``).
        self._inbox_highest: int | None = None
        self._highest_taken = 0

    def handled(self, update_id: int) -> asyncio.Future[None]:
        """Done when update ``update_id`` has been handled (or skipped as handled before).

        The webhook answers Telegram when this is done (or after a few seconds): Telegram
        sends a chat's next update after that answer, so with several workers the next one
        rarely has to wait for this one on another worker (``_after_earlier_updates``)."""
        waiter = self._handled.get(update_id)
        if waiter is None:
            waiter = self._handled[update_id] = asyncio.get_running_loop().create_future()
        return waiter

    async def process_update(self, update: object) -> None:
        try:
            await self._process_once(update)
        finally:
            if isinstance(update, Update):
                waiter = self._handled.pop(update.update_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def _process_once(self, update: object) -> None:
        database = getattr(self.bot_data, "database", None)  # set once the bot is built
        if not isinstance(update, Update) or not isinstance(database, DatabaseWorker):
            await super().process_update(update)
            return
        settings = getattr(self.bot_data, "settings", None)
        chat, user = update.effective_chat, update.effective_user
        # With several workers, the chat's earlier updates may be on another one, and the
        # user's conversation state may have changed there: one read asks both.
        shared = settings is not None and settings.workers > 1
        ordered = chat.id if chat and shared else None
        reader = user.id if user and shared else None
        taken = update.update_id in self._taken
        skip_read = taken or (not shared and await self._brand_new(database, update.update_id))
        arrival = (
            None
            if skip_read
            else await _ask(
                database,
                database.store.inbox_check,
                update.update_id,
                ordered,
                reader,
                default=None,  # the database cannot answer: the update goes ahead
            )
        )
        if taken or (arrival is not None and arrival.handled):
            log.info("update %d was handled already: skipped", update.update_id)
            return
        self._taken[update.update_id] = None
        self._highest_taken = max(self._highest_taken, update.update_id)
        if len(self._taken) > TAKEN_LIMIT:
            self._taken.popitem(last=False)
        if arrival is not None and arrival.earlier_waiting and ordered is not None:
            await _after_earlier_updates(database, ordered, update.update_id)
        elif arrival is not None and reader is not None and isinstance(self.persistence, ReadAhead):
            # Nothing of the chat is pending anywhere: the state just read is current.
            self.persistence.read_ahead(reader, arrival.user_state)
        try:
            await super().process_update(update)
        finally:
            # Handled, well or not (errors went to the error handler): never twice.
            database.later(database.store.inbox_done, update.update_id)

    async def _brand_new(self, database: DatabaseWorker, update_id: int) -> bool:
        """True for an update no process can have handled yet, so the inbox need not be
        asked (one worker only: with several, another may have handled it).

        Telegram numbers updates in order. An update handled before was handled by this
        process (its id is at most the highest this process took on) or by one before it
        (its id is in the inbox, which keeps handled ids for days, longer than Telegram
        redelivers). Above both, it is new. A redelivery or a webhook retry is at or below
        them, and is checked as ever.
        """
        if self._inbox_highest is None:
            highest = database.store.inbox_highest
            self._inbox_highest = await _ask(database, highest, default=None)
            if self._inbox_highest is None:
                return False  # the inbox cannot say: ask it about each update
        return update_id > max(self._inbox_highest, self._highest_taken)


async def _after_earlier_updates(database: DatabaseWorker, chat_id: int, update_id: int) -> None:
    """Wait until the chat's earlier updates were handled, wherever they landed: with
    several workers a chat's next message can reach another worker while the first is being
    answered. An earlier update of a worker that died waits to be taken over (up to
    WORKER_SILENCE); after ORDER_PATIENCE the update goes ahead rather than keep the chat
    waiting for good."""
    deadline = time.monotonic() + ORDER_PATIENCE
    polls = 0
    while True:
        if time.monotonic() > deadline:
            log.warning("update %d went ahead of an earlier one of its chat", update_id)
            return
        await asyncio.sleep(ORDER_POLLS[min(polls, len(ORDER_POLLS) - 1)])
        polls += 1
        question = database.store.inbox_earlier_unhandled
        if not await _ask(database, question, chat_id, update_id, default=False):
            return


def _seen(written: asyncio.Future[None]) -> None:
    """An inbox write that failed after the update went ahead: logged by the database
    thread already; retrieved here so asyncio does not report it again."""
    if not written.cancelled():
        written.exception()


async def _ask(
    database: DatabaseWorker, question: Callable[..., T], *args: int | None, default: T
) -> T:
    """A read on the event loop's behalf: SQLite's at once (an indexed read that never waits
    for a writer), PostgreSQL's in a thread (a server gone away must not stall the loop). A
    database that cannot answer gives ``default`` (no): the patient is answered regardless."""
    try:
        if database.store.database.dialect == "sqlite":
            return question(*args)
        return await asyncio.to_thread(question, *args)
    except SQLAlchemyError as exc:
        log.warning("the inbox could not be read (%s): going ahead", type(exc).__name__)
        return default


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue; each update is written to the inbox before it joins.

    Both ways updates arrive wait for ``put``: PTB's webhook server answers Telegram 200 only
    after it, and long polling confirms a batch (the next getUpdates offset) only after every
    update of it was put. So an update Telegram counts as delivered is in the database first.
    The write waits in the database thread, not on the event loop.
    """

    def __init__(self) -> None:
        super().__init__()
        self.database: DatabaseWorker | None = None  # set once the store is open
        self.worker = secrets.token_hex(6)  # this process, among workers sharing the inbox

    async def put(self, item: object) -> None:
        if self.database is not None and isinstance(item, Update):
            chat = item.effective_chat
            written = asyncio.ensure_future(
                self.database.write(
                    self.database.store.inbox_receive,
                    [(item.update_id, item.to_json(), chat.id if chat else None)],
                    self.worker,
                )
            )
            written.add_done_callback(_seen)
            try:
                # The write goes on trying in the database thread; the update need not wait
                # for a database that went away: the FAQ keeps answering.
                await asyncio.wait_for(asyncio.shield(written), INBOX_PATIENCE)
            except (TimeoutError, SQLAlchemyError):
                log.warning("update %d is answered without the inbox keeping it", item.update_id)
        await super().put(item)


async def take_over(application: Application[Any, Any, Any, Any, Any, Any], start: bool) -> int:
    """Say this worker is alive, and queue the updates received but never handled by a
    worker that is not (it was killed; at ``start`` on SQLite, whatever process ran before,
    since one process serves a SQLite file); return how many."""
    database = getattr(application.bot_data, "database", None)
    queue = application.update_queue
    if not isinstance(database, DatabaseWorker) or not isinstance(queue, InboxQueue):
        return 0
    store = database.store
    await database.call(store.worker_alive, queue.worker)
    sqlite_start = start and store.database.dialect == "sqlite"
    silence = timedelta(0) if sqlite_start else WORKER_SILENCE
    pending = await database.call(store.inbox_take_over, queue.worker, silence)
    for body in pending:
        update = Update.de_json(json.loads(body), application.bot)
        if start:
            await queue.put(update)  # before any new update: the chats' order holds
        else:
            # Now, beside the chats' queues: a later update of the same chat may be waiting
            # in its chat's turn for exactly this one (``_after_earlier_updates``).
            application.create_task(application.process_update(update), update=update)
    if pending:
        log.info("handling %d update(s) received but not handled by a stopped worker", len(pending))
    return len(pending)
