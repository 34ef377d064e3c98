"""A damaged analytics database: the FAQ keeps answering and the admins are told."""

from __future__ import annotations

import signal
from pathlib import Path

from bot.content.knowledge import Knowledge

from .botapi_emulator import BotApiEmulator
from .running_bot import shown, start_bot


def test_a_damaged_database_spares_the_faq(knowledge: Knowledge, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"this is not a database, whatever the name says" * 100)
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        admin = emu.add_user("Ada")
        emu.send_text(admin, emu.private_chat(admin), "/start")  # she has talked to the bot
        process = start_bot(
            emu, database, ANALYTICS_SALT="salt-for-this-test", ADMIN_IDS=str(admin.id)
        )
        try:
            alert = emu.wait_for_message(emu.private_chat(admin), timeout=30)
            assert "analytics database is damaged" in alert["text"]
            patient = emu.add_user("Pat")
            chat = emu.private_chat(patient)
            emu.send_text(patient, chat, "how much is a session?")
            reply = emu.wait_for_message(chat, timeout=20)
            assert reply["text"] == shown(knowledge.responses["pricing"].answer)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert database.read_bytes().startswith(b"this is not a database")  # left for recovery
