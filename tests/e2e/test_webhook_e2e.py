"""Webhook mode end to end: the bot's webhook server (``bot/telegram/webhook.py``) behind
``python -m bot run``: the secret checked, updates answered, /healthz."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.content.knowledge import Knowledge

from .botapi_emulator import BotApiEmulator
from .running_bot import bot_process, shown

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
        settings = {
            "WEBHOOK_URL": "https://faq-bot.example.org/telegram",
            "WEBHOOK_SECRET": SECRET,
            "PORT": str(port),
        }
        with bot_process(emu, tmp_path / "bot.sqlite3", **settings):
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
            # Telegram hears 200 once the update was handled: the answer is already out, so
            # the chat's next update cannot overtake it on another worker.
            (reply,) = emu.bot_messages(chat)
            assert reply["text"] == shown(knowledge.responses["pricing"].answer)
            assert post(local, {"no": "update"}, secret=SECRET) == 400
            health = health_of(port)
            assert health == (200, {"status": "ok", "database": "ok", "topics": 43})
            emu.assert_clean()


def health_of(port: int) -> tuple[int, dict[str, object]]:
    """The worker's /healthz: status code and report."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_webhook_without_a_configured_secret_still_refuses_forged_updates(
    knowledge: Knowledge, tmp_path: Path
) -> None:
    """No WEBHOOK_SECRET set: the run makes its own, gives it to Telegram, and a forged
    update (anyone who knows the URL) is refused."""
    port = free_port()
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        settings = {"WEBHOOK_URL": "https://faq-bot.example.org/telegram", "PORT": str(port)}
        with bot_process(emu, tmp_path / "bot.sqlite3", **settings) as running:
            emu.wait_for_call("setWebhook", timeout=30)
            wait_for_server(port)
            webhook = emu.webhook
            assert webhook is not None
            secret = str(webhook["secret_token"])
            assert len(secret) >= 32
            user = emu.add_user("Hal")
            chat = emu.private_chat(user)
            emu.send_text(user, chat, "how much is a session?")
            (update,) = emu.pending_updates
            local = f"http://127.0.0.1:{port}/telegram"
            assert post(local, update, secret=None) == 403
            assert post(local, update, secret=secret) == 200
            reply = emu.wait_for_message(chat, timeout=20)
            assert reply["text"] == shown(knowledge.responses["pricing"].answer)
            emu.assert_clean()
    assert "WEBHOOK_SECRET is not set" in running.log  # the operator is told
    assert secret not in running.log  # but the secret itself is never logged
