"""A user's conversation state: what it remembers, for how long, and how it is kept."""

from __future__ import annotations

import time

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
