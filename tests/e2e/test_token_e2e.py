"""A token revoked while the bot runs: the process stops with a clear message, not idles."""

from __future__ import annotations

from pathlib import Path

from .botapi_emulator import BotApiEmulator
from .running_bot import start_bot


def test_a_revoked_token_stops_the_process_with_a_clear_message(tmp_path: Path) -> None:
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        process = start_bot(emu, tmp_path / "bot.sqlite3")
        try:
            emu.wait_for_call("getUpdates", timeout=30)  # polling
            emu.token = "999999:revoked-by-botfather"  # every call now gets 401
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 2, output
    assert "Telegram rejected the bot token (401)" in output
    assert "Traceback" not in output


def test_a_wrong_token_at_start_is_named_not_a_traceback(tmp_path: Path) -> None:
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        process = start_bot(
            emu, tmp_path / "bot.sqlite3", TELEGRAM_BOT_TOKEN="123456:not-the-right-token"
        )
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "Telegram rejected the bot token (401)" in output
    assert "Traceback" not in output


def test_start_up_survives_a_telegram_hiccup(tmp_path: Path) -> None:
    """A 502 from getMe (retried) and setMyCommands failing for good: the bot starts anyway
    and answers."""
    from .running_bot import bot_process

    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        emu.inject_error("getMe", "Bad Gateway", 502)
        emu.inject_error("setMyCommands", "Bad Gateway", 502, times=100)
        with bot_process(emu, tmp_path / "bot.sqlite3") as running:
            user = emu.add_user("Jo")
            chat = emu.private_chat(user)
            emu.send_text(user, chat, "does it hurt?")
            assert emu.wait_for_message(chat, timeout=30)["text"]
    assert "getMe got HTTP 502: retrying" in running.log
    assert "command menus not set" in running.log  # said, and the bot carried on
