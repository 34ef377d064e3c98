"""A user's conversation state: what it remembers, for how long, and how it is kept."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bot.analytics.background import DatabaseWorker
from bot.analytics.store import EventStore
from bot.telegram import context as context_module
from bot.telegram.context import AWAIT_SECONDS, MAX_CLARIFIED, UserData
from bot.telegram.user_state import DatabaseUserState


def test_a_question_for_the_team_is_taken_once_and_only_soon_after_asking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = UserData()
    state.await_question()
    assert state.takes_question() and not state.takes_question()
    state.await_question()
    later = time.time() + AWAIT_SECONDS + 1
    monkeypatch.setattr(context_module.time, "time", lambda: later)
    assert not state.takes_question()  # too long ago: this message is a new topic


def test_only_the_latest_did_you_mean_questions_are_remembered() -> None:
    state = UserData()
    for message_id in range(MAX_CLARIFIED + 5):
        state.remember_clarified(message_id, f"question {message_id}")
    assert list(state.clarified) == list(range(5, MAX_CLARIFIED + 5))
    state.last_unanswered = "can I bring my dog"
    assert state.drop_questions() and state.is_empty()
    assert not state.drop_questions()


async def test_state_is_kept_in_the_database_and_an_empty_one_leaves_no_row() -> None:
    database = DatabaseWorker(EventStore.in_memory())
    persistence = DatabaseUserState()
    persistence.database = database
    try:
        state = UserData(last_unanswered="is it ok in pregnancy")
        state.remember_clarified(40, "how much")
        await persistence.update_user_data(7, state)
        await persistence.update_user_data(8, UserData())
        await persistence.flush()
        assert await persistence.get_user_data() == {7: state}
        await persistence.update_user_data(7, UserData())
        await persistence.flush()
        assert await persistence.get_user_data() == {}
    finally:
        database.close()


async def test_a_worker_sharing_users_takes_their_state_from_the_database_unless_newer(
    tmp_path: Path,
) -> None:
    """With several workers, the state read as an update arrives (or before it) is the
    user's; but a newer state of this worker, still queued to be written, is not undone by
    the older one the database holds meanwhile."""
    store = EventStore(tmp_path / "bot.sqlite3", "salt")
    database = DatabaseWorker(store)
    persistence = DatabaseUserState(shared=True)
    persistence.database = database
    other_worker = DatabaseUserState(shared=True)
    other_worker.database = DatabaseWorker(EventStore(tmp_path / "bot.sqlite3", "salt"))
    hold = threading.Event()
    try:
        mine = UserData()
        await persistence.update_user_data(7, mine)
        await persistence.flush()
        # The user's last message was answered by the other worker, which kept this:
        await other_worker.update_user_data(7, UserData(last_unanswered="open on Sunday?"))
        await other_worker.flush()
        persistence.read_ahead(7, store.user_state(7))  # read with the inbox check
        await persistence.refresh_user_data(7, mine)
        assert mine.last_unanswered == "open on Sunday?"

        database.later(hold.wait)  # this worker's writes wait in its database thread
        mine.last_unanswered = "and on Monday?"
        await persistence.update_user_data(7, mine)
        persistence.read_ahead(7, store.user_state(7))  # still the older state
        await persistence.refresh_user_data(7, mine)
        assert mine.last_unanswered == "and on Monday?"
        hold.set()
        await persistence.flush()
        assert store.user_state(7) is not None
        assert (await persistence.get_user_data())[7].last_unanswered == "and on Monday?"
    finally:
        hold.set()
        database.close()
        other_worker.database.close()
