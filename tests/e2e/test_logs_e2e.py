"""What the running bot logs: at every level, never a patient's words or the bot token."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.knowledge import Knowledge

from .botapi_emulator import BotApiEmulator
from .running_bot import bot_process, shown

PRIVATE_WORDS = "my cousin Zebedee has psoriasis on his elbows"


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_logs_hold_no_message_text_and_no_token(
    knowledge: Knowledge, tmp_path: Path, level: str
) -> None:
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        with bot_process(emu, tmp_path / "bot.sqlite3", LOG_LEVEL=level) as running:
            user = emu.add_user("Ida")
            chat = emu.private_chat(user)
            emu.send_text(user, chat, f"{PRIVATE_WORDS}, does it hurt?")
            emu.wait_for_message(chat, timeout=20)
            emu.send_text(user, chat, "how much is a session?")
            reply = emu.wait_for_message(chat, timeout=20)
            assert reply["text"] == shown(knowledge.responses["pricing"].answer)
        token = emu.token
    assert "ready: @" in running.log
    assert "Zebedee" not in running.log and "psoriasis" not in running.log
    assert "how much is a session" not in running.log
    assert token not in running.log and token.split(":")[1] not in running.log


def test_an_unknown_log_level_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:abc", "LOG_LEVEL": "chatty"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR" in result.stderr
