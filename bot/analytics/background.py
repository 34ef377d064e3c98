"""The running bot's database calls, in a thread of their own, off the event loop.

SQLite calls block. On the event loop, one call waiting for another process's write lock (a
``python -m bot report``, a backup, a second worker) held every user up for the whole busy
timeout, and the event was then dropped. Here:

* every call runs in one database thread, in the order it was made (a feedback vote comes
  after the event it votes on), while the loop goes on answering;
* writes queued one after another (``later`` and ``write``) run in one transaction
  (``EventStore.batch``), up to BATCH_LIMIT of them: under load, one commit and one round
  trip to a PostgreSQL server serve many updates instead of one each. A batch that fails
  for any reason but a lock is tried again one write at a time, so one bad write costs
  only itself;
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
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
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


BATCH_LIMIT = 200  # queued writes committed together at most


@dataclass(frozen=True)
class _Job:
    run: Callable[[], Any]
    future: Future[Any]
    batched: bool  # may share a transaction with the writes queued next to it


class DatabaseWorker:
    """Runs an EventStore's calls in one thread, in order, retrying while it is locked."""

    def __init__(self, store: EventStore, patience: float = LOCK_PATIENCE) -> None:
        self.store = store
        self._patience = patience
        self._closing = threading.Event()
        self._jobs: deque[_Job] = deque()
        self._queued = threading.Condition()
        self._stopping = False
        # Told (in the database thread) when a PostgreSQL server stops answering (True) and
        # when it answers again (False); the bot alerts its admins.
        self.on_unreachable: Callable[[bool], None] | None = None
        self._unreachable = False
        self._thread = threading.Thread(target=self._serve, name="database", daemon=True)
        self._thread.start()

    async def call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``method`` (a store method) in the database thread and wait for its result;
        the event loop serves other updates meanwhile."""
        return await asyncio.wrap_future(self._submit(partial(method, *args, **kwargs), False))

    async def write(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like ``call``, for a small write that may be committed together with the writes
        queued beside it (it is done when they all are)."""
        return await asyncio.wrap_future(self._submit(partial(method, *args, **kwargs), True))

    def later(self, method: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> Future[Any]:
        """Queue a write nobody waits for; a failure is logged (never a patient's words).
        The future says when it is done, for whoever wants to know."""
        future = self._submit(partial(method, *args, **kwargs), True)
        future.add_done_callback(_report_failure)
        return future

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
        with self._queued:
            self._stopping = True
            self._queued.notify()
        self._thread.join()
        self.store.close()

    def _submit(self, run: Callable[[], Any], batched: bool) -> Future[Any]:
        future: Future[Any] = Future()
        with self._queued:
            if self._stopping:
                raise RuntimeError("the database worker is closed")
            self._jobs.append(_Job(run, future, batched))
            self._queued.notify()
        return future

    def _serve(self) -> None:
        """The database thread: the queued calls in order, neighbouring writes together."""
        while True:
            with self._queued:
                while not self._jobs and not self._stopping:
                    self._queued.wait()
                if not self._jobs:
                    return  # closing, and everything queued has run
                jobs = [self._jobs.popleft()]
                while (
                    jobs[0].batched
                    and self._jobs
                    and self._jobs[0].batched
                    and len(jobs) < BATCH_LIMIT
                ):
                    jobs.append(self._jobs.popleft())
            self._run([job for job in jobs if job.future.set_running_or_notify_cancel()])

    def _run(self, jobs: list[_Job]) -> None:
        if len(jobs) > 1:
            try:
                results = self._patiently(partial(self._together, jobs))
            except Exception:  # each write is tried on its own, below
                pass
            else:
                for job, result in zip(jobs, results, strict=True):
                    job.future.set_result(result)
                return
        for job in jobs:
            try:
                job.future.set_result(self._patiently(job.run))
            except BaseException as exc:  # handed to whoever waits for the result
                job.future.set_exception(exc)

    def _together(self, jobs: list[_Job]) -> list[Any]:
        with self.store.batch():
            return [job.run() for job in jobs]

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
