"""A database locked by another process neither holds up answers nor loses what the bot
records: database calls run in their own thread and wait there (bot.analytics.background)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import OperationalError
from telegram import Update

from bot.analytics.background import TRY_TIMEOUT, DatabaseWorker
from bot.analytics.database_url import Database
from bot.analytics.records import Source
from bot.analytics.store import EventStore
from bot.content.knowledge import Knowledge
from bot.engine import ReplyKind
from tests.support.harness import message_dict, offline_bot

# Without the database thread, each locked write held the event loop for the store's 10 s
# busy timeout and was then dropped; well under that is "not held up".
NOT_HELD_UP = 3.0


@contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's open write transaction on the database (as a report or a backup
    would hold it), rolled back on leaving."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield other
        finally:
            other.execute("ROLLBACK")


def event(user_id: int = 7) -> dict[str, object]:
    return {
        "user_id": user_id,
        "chat_type": "private",
        "source": Source.PRIVATE,
        "decision": ReplyKind.ANSWER,
        "intent_id": "pricing",
        "score": 90.0,
    }


async def test_answers_go_out_while_the_database_is_locked_and_events_land_after(
    knowledge: Knowledge, tmp_path: Path
) -> None:
    path = tmp_path / "analytics.db"
    store = EventStore(path, "salt", busy_timeout=TRY_TIMEOUT)
    async with offline_bot(knowledge, store=store) as bot:
        app = bot.application
        with locked(path):
            for update_id, (user, text) in enumerate([(1, "how much is it?"), (2, "does it hurt")]):
                update = {"update_id": update_id + 1, "message": message_dict(text, user)}
                await asyncio.wait_for(
                    app.process_update(Update.de_json(update, app.bot)), NOT_HELD_UP
                )
            titles = [sent["text"] for sent in bot.request.sent()]
            assert titles == [
                knowledge.responses["pricing"].answer,
                knowledge.responses["does_it_hurt"].answer,
            ]
            assert store.stats(7).questions == 0  # still waiting for the lock
        await app.bot_data.database.flush()
        assert store.stats(7).questions == 2
        assert bot.errors == []


async def test_a_vote_waits_for_its_own_event_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "analytics.db"
    database = DatabaseWorker(EventStore(path, "salt", busy_timeout=TRY_TIMEOUT))
    try:
        with locked(path):
            event_id = database.record(**event())  # the id is known before the row exists
            vote = asyncio.ensure_future(
                database.call(database.store.set_feedback, event_id, 7, True)
            )
            await asyncio.sleep(0.5)
            assert not vote.done()
        assert (await vote).value == "saved"
        assert database.store.stats(7).helpful_yes == 1
    finally:
        database.close()


async def test_a_write_that_never_gets_the_lock_is_reported_not_silently_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "analytics.db"
    database = DatabaseWorker(EventStore(path, "salt", busy_timeout=TRY_TIMEOUT), patience=0.5)
    try:
        with caplog.at_level(logging.WARNING), locked(path):
            database.record(**event())
            with pytest.raises(OperationalError, match="locked"):
                await database.call(database.store.forget_user, 7)
        messages = [r.getMessage() for r in caplog.records]
        assert any("a database write was lost: OperationalError" in m for m in messages)
        assert database.store.stats(7).questions == 0
    finally:
        database.close()


def test_close_finishes_queued_writes(tmp_path: Path) -> None:
    path = tmp_path / "analytics.db"
    database = DatabaseWorker(EventStore(path, "salt"))
    for user_id in range(50):
        database.record(**event(user_id))
    database.close()
    with EventStore(path, "salt") as reopened:
        assert reopened.stats(7).questions == 50


async def test_queued_writes_share_commits_and_all_land(database: Database) -> None:
    """Under load the database thread commits the writes queued beside each other together:
    fewer commits than writes, and every write there."""
    commits: list[int] = []
    store = EventStore(database, "salt")
    sqlalchemy_event.listen(store._engine, "commit", lambda connection: commits.append(1))
    worker = DatabaseWorker(store)
    try:
        hold = threading.Event()
        worker.later(hold.wait)  # the thread is busy: the writes below queue up behind it
        for user_id in range(100):
            worker.record(update_id=user_id, **event(user_id))
        answered = [worker.write(store.inbox_receive, [(n, "{}", n)], "w1") for n in range(20)]
        hold.set()
        await asyncio.gather(*answered)
        await worker.flush()
        assert store.stats(7).questions == 100
        assert not any(store.inbox_check(n, n).handled for n in range(20))
        assert len(commits) < 10
    finally:
        worker.close()


async def test_one_bad_write_in_a_batch_costs_only_itself(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = EventStore(database, "salt")
    worker = DatabaseWorker(store)
    try:
        hold = threading.Event()
        worker.later(hold.wait)
        worker.record(**event(1))
        worker.later(store.record, **{**event(2), "source": "no such source"})
        worker.record(**event(3))
        with caplog.at_level(logging.ERROR):
            hold.set()
            await worker.flush()
        assert store.stats(7).questions == 2
        messages = [r.getMessage() for r in caplog.records]
        assert sum("a database write was lost: ValueError" in m for m in messages) == 1
    finally:
        worker.close()
