"""Webhook mode end to end: PTB's webhook server behind ``python -m bot run``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.knowledge import Knowledge
from bot.telegram_html import plain_text

from .botapi_emulator import BotApiEmulator

PROJECT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-token_for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, update: dict[str, object], secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def wait_for_server(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"webhook server did not listen on {port}")


def test_webhook_mode_checks_the_secret_and_answers(knowledge: Knowledge, tmp_path: Path) -> None:
    port = free_port()
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=emu.token,
            TELEGRAM_API_BASE_URL=emu.base_url,
            WEBHOOK_URL="https://faq-bot.example.org/telegram",
            WEBHOOK_SECRET=SECRET,
            PORT=str(port),
            DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            emu.wait_for_call("setWebhook", timeout=30)
            wait_for_server(port)
            webhook = emu.webhook
            assert webhook is not None and webhook["url"] == "https://faq-bot.example.org/telegram"
            assert webhook["secret_token"] == SECRET
            user = emu.add_user("Gia")
            chat = emu.private_chat(user)
            emu.send_text(user, chat, "how much is a session?")
            (update,) = emu.pending_updates  # Telegram would push this to the webhook
            local = f"http://127.0.0.1:{port}/telegram"
            assert post(local, update, secret=None) == 403
            assert post(local, update, secret="wrong") == 403
            assert post(local, update, secret=SECRET) == 200
            reply = emu.wait_for_message(chat, timeout=20)
            assert reply["text"] == plain_text(knowledge.responses["pricing"].answer).strip()
            emu.assert_clean()
        finally:
            process.send_signal(signal.SIGTERM)
            log, _ = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert "ERROR" not in log, log
