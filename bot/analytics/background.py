"""The running bot's database calls, in a thread of their own, off the event loop.

SQLite calls block. On the event loop, one call waiting for another process's write lock (a
``python -m bot report``, a backup, a second worker) held every user up for the whole busy
timeout, and the event was then dropped. Here:

* every call runs in one database thread, in the order it was made (a feedback vote comes
  after the event it votes on), while the loop goes on answering;
* writes nobody waits for (``later``: analytics events, inbox marks) return at once; the
  event's id is drawn up front (``EventStore.new_event_id``), so the answer and its feedback
  buttons go out without waiting for the database;
* a statement that finds the database locked (SQLite) or unreachable (a PostgreSQL server
  restarting) is tried again, with pauses, for up to ``LOCK_PATIENCE``, instead of being
  dropped; each SQLite try waits only briefly (the store's ``busy_timeout``), so the thread
  is never stuck inside SQLite for long;
* ``close`` finishes the queued writes (giving up on a lock after ``CLOSING_PATIENCE``) and
  then closes the store.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError

from bot.analytics.store import EventStore

log = logging.getLogger(__name__)

# Busy timeout of each try when the bot opens its store: short, so that a locked database
# costs a short pause per try, never a 10-second stall.
TRY_TIMEOUT = 0.2
LOCK_PATIENCE = 600.0  # seconds a write keeps trying while another process holds the lock
CLOSING_PATIENCE = 10.0  # at shutdown, queued writes wait at most this long for a lock
_PAUSES = (0.05, 0.1, 0.2, 0.5, 1.0)  # between tries; the last repeats

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseWorker:
    """Runs an EventStore's calls in one thread, in order, retrying while it is locked."""

    def __init__(self, store: EventStore, patience: float = LOCK_PATIENCE) -> None:
        self.store = store
        self._patience = patience
        self._closing = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="database")
        # Told (in the database thread) when a PostgreSQL server stops answering (True) and
        # when it answers again (False); the bot alerts its admins.
        self.on_unreachable: Callable[[bool], None] | None = None
        self._unreachable = False

    async def call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``method`` (a store method) in the database thread and wait for its result;
        the event loop serves other updates meanwhile."""
        future = self._executor.submit(self._patiently, partial(method, *args, **kwargs))
        return await asyncio.wrap_future(future)

    def later(self, method: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        """Queue a write nobody waits for; a failure is logged (never a patient's words)."""
        future = self._executor.submit(self._patiently, partial(method, *args, **kwargs))
        future.add_done_callback(_report_failure)

    def record(self, update_id: int | None = None, **event: Any) -> int:
        """Queue one analytics event (``EventStore.record``'s fields) of update
        ``update_id``; return its id now."""
        event_id = self.store.new_event_id(update_id)
        self.later(self.store.record, event_id=event_id, **event)
        return event_id

    async def flush(self) -> None:
        """Wait until every call made so far has run."""
        await self.call(lambda: None)

    def close(self) -> None:
        """Finish the queued writes, then close the store."""
        self._closing.set()
        self._executor.shutdown(wait=True)
        self.store.close()

    def _patiently(self, job: Callable[[], T]) -> T:
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                result = job()
            except OperationalError as exc:
                patience = CLOSING_PATIENCE if self._closing.is_set() else self._patience
                if not _is_locked(exc) or time.monotonic() - started > patience:
                    raise
                if attempt == 0:
                    log.warning("the database is locked or unreachable: waiting for it")
                if _is_postgresql(exc):
                    self._reachable(False)
            else:
                self._reachable(True)
                return result
            time.sleep(_PAUSES[min(attempt, len(_PAUSES) - 1)])
            attempt += 1

    def _reachable(self, reachable: bool) -> None:
        if self._unreachable == (not reachable):
            return
        self._unreachable = not reachable
        # A warning: writes are retried; one that is finally lost is logged as an error.
        log.log(
            logging.INFO if reachable else logging.WARNING,
            "the database answers again" if reachable else "the database cannot be reached",
        )
        if self.on_unreachable is not None:
            self.on_unreachable(not reachable)


def _is_locked(exc: OperationalError) -> bool:
    """Worth waiting for: SQLite's write lock held by another process, or a PostgreSQL
    server that cannot be reached right now (restarting, or the network)."""
    if exc.connection_invalidated or exc.orig is None:
        return True
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message or _is_postgresql(exc)


def _is_postgresql(exc: OperationalError) -> bool:
    return type(exc.orig).__module__.startswith("psycopg")


def _report_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        # The store's engine hides statement parameters: messages name tables and
        # constraints, never the values written.
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        log.error("a database write was lost: %s: %s", type(exc).__name__, reason)
