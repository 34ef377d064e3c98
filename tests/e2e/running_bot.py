"""Run ``python -m bot run`` as a subprocess against the emulator, and read what users see."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.content.html_text import plain_text

from .botapi_emulator import BotApiEmulator

PROJECT = Path(__file__).resolve().parents[2]
# Settings the bot reads from the environment: none may leak in from the machine running tests.
_SETTINGS = (
    "TELEGRAM_",
    "WEBHOOK_",
    "PORT",
    "ADMIN_IDS",
    "CHANNEL_ID",
    "DISCUSSION_REPLIES",
    "STAFF_CHAT_ID",
    "DATABASE_PATH",
    "DATABASE_URL",
    "WORKERS",
    "RATE_LIMIT",
    "RETENTION_DAYS",
    "LOG_LEVEL",
    "ANALYTICS_SALT",
)


@dataclass
class BotProcess:
    process: subprocess.Popen[str]
    log: str = ""


class BotApi(Protocol):
    """Where the bot finds the Bot API: the emulator, or a benchmark's stub."""

    @property
    def token(self) -> str: ...

    @property
    def base_url(self) -> str: ...


def start_bot(
    emu: BotApi, database: Path, content: Path | None = None, **settings: str
) -> subprocess.Popen[str]:
    """``python -m bot run`` with only a token (``settings`` may replace it), the emulator's
    URL, a database and ``settings`` (and ``content`` instead of the shipped content);
    output and errors in one stream."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS)}
    env.update(
        TELEGRAM_BOT_TOKEN=emu.token,
        TELEGRAM_API_BASE_URL=emu.base_url,
        DATABASE_PATH=str(database),
    )
    env.update(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", *(["--content", str(content)] if content else [])],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def bot_process(
    emu: BotApiEmulator, database: Path, content: Path | None = None, **settings: str
) -> Iterator[BotProcess]:
    """The bot of ``start_bot``; on exit it gets SIGTERM and must stop cleanly with no error
    in its log."""
    process = start_bot(emu, database, content, **settings)
    running = BotProcess(process)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        running.log, _ = process.communicate(timeout=30)
    assert process.returncode == 0, running.log
    assert "ready: @" in running.log, running.log
    assert "ERROR" not in running.log and "Traceback" not in running.log, running.log


def shown(html_text: str) -> str:
    """What Telegram shows for our HTML: tags gone, entities decoded, outer space trimmed."""
    return plain_text(html_text).strip()


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inline button of a message, row by row."""
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
