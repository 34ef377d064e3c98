"""kill -9 in a burst of questions, then a restart: every question answered exactly once.

The one exception by design: an answer Telegram was already sending at the kill is sent
again after the restart (repeated, never lost), since no Bot API call can be undone and the
dead process never heard that it went out.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .botapi_emulator import BotApiEmulator
from .running_bot import bot_process, start_bot
from .test_webhook_e2e import SECRET, free_port, post, wait_for_server

PATIENTS = 10
EACH = 5  # questions per patient: a chat's questions are answered one by one, in order
QUESTIONS = PATIENTS * EACH


def test_questions_fetched_before_a_kill_are_answered_once_after_restart(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        emu.slow_down("sendMessage", 1.0)  # answers take a while: updates pile up fetched
        first = start_bot(emu, database, ANALYTICS_SALT="inbox-test")
        try:
            emu.wait_for_call("getUpdates", timeout=30)
            chats = []
            for number in range(PATIENTS):
                user = emu.add_user(f"Pat{number}")
                chat = emu.private_chat(user)
                for _ in range(EACH):
                    emu.send_text(user, chat, "how much is a session?")
                chats.append(chat)
            emu.wait_for_call("sendMessage", timeout=20)  # the burst is being worked through
            first.send_signal(signal.SIGKILL)  # killed while answers are on their way
            first.communicate(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        time.sleep(1.5)  # the answers Telegram had started to send at the kill arrive
        in_flight = {int(c.params["chat_id"]) for c in emu.calls if c.method == "sendMessage"}
        answered_before = sum(len(emu.bot_messages(chat)) for chat in chats)
        assert answered_before < QUESTIONS  # the kill really left questions unanswered
        emu.slow_down("sendMessage", 0)
        with bot_process(emu, database, ANALYTICS_SALT="inbox-test"):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(len(emu.bot_messages(chat)) >= EACH for chat in chats):
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # a duplicate, if any, would arrive now
            counts = [len(emu.bot_messages(chat)) for chat in chats]
    # Nothing lost; only an answer in flight at the kill is repeated, once (a chat has one at
    # a time): Telegram had it, the dead process never heard back. Without the inbox, every
    # fetched question was lost.
    for chat, count in zip(chats, counts, strict=True):
        assert count == EACH or (count == EACH + 1 and chat.id in in_flight), (chat.id, counts)


def test_webhook_updates_acknowledged_before_a_kill_are_answered_after_restart(
    tmp_path: Path,
) -> None:
    """A webhook's 200 tells Telegram the update arrived: it is never sent again. The bot
    answers 200 once an update is handled, or after HANDLED_PATIENCE when handling is slow
    (here every sendMessage takes 3 s and a chat's three questions queue behind each
    other): updates acknowledged but not yet handled at a kill are handled after the
    restart."""
    database = tmp_path / "bot.sqlite3"
    port = free_port()
    settings = {
        "WEBHOOK_URL": "https://faq-bot.example.org/telegram",
        "WEBHOOK_SECRET": SECRET,
        "PORT": str(port),
        "ANALYTICS_SALT": "inbox-test",
    }
    local = f"http://127.0.0.1:{port}/telegram"
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        emu.slow_down("sendMessage", 3.0)
        first = start_bot(emu, database, **settings)
        try:
            emu.wait_for_call("setWebhook", timeout=30)
            wait_for_server(port)
            chats = []
            for number in range(2):
                user = emu.add_user(f"Web{number}")
                chat = emu.private_chat(user)
                for _ in range(3):
                    emu.send_text(user, chat, "how much is a session?")
                chats.append(chat)
            # What Telegram would push, side by side over several connections; each is
            # acknowledged, the slow ones after HANDLED_PATIENCE.
            updates = emu.pending_updates
            with ThreadPoolExecutor(len(updates)) as pool:
                statuses = list(pool.map(lambda u: post(local, u, secret=SECRET), updates))
            assert statuses == [200] * len(updates)
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        time.sleep(1.5)
        in_flight = {int(c.params["chat_id"]) for c in emu.calls if c.method == "sendMessage"}
        assert sum(len(emu.bot_messages(chat)) for chat in chats) < 6  # some were not handled
        emu.slow_down("sendMessage", 0)
        with bot_process(emu, database, **settings):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(len(emu.bot_messages(chat)) >= 3 for chat in chats):
                    break
                time.sleep(0.2)
            time.sleep(1.0)
            counts = [len(emu.bot_messages(chat)) for chat in chats]
    for chat, count in zip(chats, counts, strict=True):
        assert count == 3 or (count == 4 and chat.id in in_flight), (chat.id, counts)
