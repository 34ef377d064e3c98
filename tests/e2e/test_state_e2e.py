"""Conversation state survives a restart: "/human", a restart, then the question."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bot.analytics.store import EventStore
from bot.content.knowledge import Knowledge

from .botapi_emulator import BotApiEmulator
from .running_bot import bot_process, shown


def test_a_question_for_staff_after_a_restart_still_reaches_them(
    knowledge: Knowledge, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        staff = emu.add_group("Willow Lane staff", members=[emu.add_user("Sam")])
        settings = {"STAFF_CHAT_ID": str(staff.id), "ANALYTICS_SALT": "state-test"}
        patient = emu.add_user("Liv")
        chat = emu.private_chat(patient)
        with bot_process(emu, database, **settings):
            emu.send_text(patient, chat, "/human")
            asked = emu.wait_for_message(chat, timeout=30)
            assert asked["text"] == shown(knowledge.message("handoff_ask"))
        with closing(sqlite3.connect(database)) as db:  # kept in the database, nowhere else
            (count,) = db.execute("SELECT COUNT(*) FROM user_state").fetchone()
        assert count == 1 and not list(tmp_path.glob("*.state*"))
        # The bot restarts (a deploy) before the patient has typed the question.
        with bot_process(emu, database, **settings):
            emu.send_text(patient, chat, "can my partner sit in the room with me?")
            to_staff = emu.wait_for_message(staff, timeout=30)
            assert "can my partner sit in the room with me?" in to_staff["text"]


def test_an_unreadable_state_is_dropped_not_fatal(knowledge: Knowledge, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    with EventStore(database, "state-test"):
        pass  # the schema
    with closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "INSERT INTO user_state (user_id, data, updated) VALUES (1, ?, '2026-01-01')",
            (b"\x80\x05 half a pickle",),
        )
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        patient = emu.add_user("Max")
        chat = emu.private_chat(patient)
        with bot_process(emu, database, ANALYTICS_SALT="state-test") as running:
            emu.send_text(patient, chat, "how much is a session?")
            reply = emu.wait_for_message(chat, timeout=30)
            assert reply["text"] == shown(knowledge.responses["pricing"].answer)
    assert "conversation state is unreadable" in running.log
