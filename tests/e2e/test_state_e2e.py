"""Conversation state survives a restart: "/human", a restart, then the question."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge import Knowledge

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
        # The bot restarts (a deploy) before the patient has typed the question.
        with bot_process(emu, database, **settings):
            emu.send_text(patient, chat, "can my partner sit in the room with me?")
            to_staff = emu.wait_for_message(staff, timeout=30)
            assert "can my partner sit in the room with me?" in to_staff["text"]
    assert (database.parent / "bot.sqlite3.state").stat().st_mode & 0o777 == 0o600


def test_a_damaged_state_file_is_moved_aside_not_fatal(
    knowledge: Knowledge, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    state = tmp_path / "bot.sqlite3.state"
    state.write_bytes(b"\x80\x05 half a pickle, cut by a kill")
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        patient = emu.add_user("Max")
        chat = emu.private_chat(patient)
        with bot_process(emu, database) as running:
            emu.send_text(patient, chat, "how much is a session?")
            reply = emu.wait_for_message(chat, timeout=30)
            assert reply["text"] == shown(knowledge.responses["pricing"].answer)
    assert "conversation state unreadable" in running.log
    assert (tmp_path / "bot.sqlite3.state.damaged").exists()
