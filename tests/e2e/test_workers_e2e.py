"""Two webhook workers behind nginx, sharing one PostgreSQL database, with the emulator
pushing updates as Telegram does: 500 questions from 50 users and their feedback taps, one
worker killed (SIGKILL) halfway and started again. Every update is answered exactly once,
each chat's in order, and every event is recorded once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.analytics.database_url import Database
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine, ReplyKind
from tests.support.database_rows import rows_of
from tests.support.nginx import load_balancer, nginx_binary
from tests.support.postgres import PostgresServer

from .botapi_emulator import BotApiEmulator
from .running_bot import buttons, shown, start_bot
from .test_webhook_e2e import free_port, health_of
from .webhook_pusher import WebhookPusher

SECRET = "workers-secret_token"
USERS, QUESTIONS_EACH = 50, 10


@pytest.fixture
def nginx() -> str:
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required here")
        pytest.skip("nginx is not installed")
    return binary


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[Database]:
    created = postgres.new_database()
    yield created
    postgres.drop(created)


def questions(engine: DialogueEngine, knowledge: Knowledge) -> list[tuple[str, str]]:
    """Ten questions the bot answers with one topic each, and the answer shown for each."""
    chosen = []
    for intent_id, intent in knowledge.intents.items():
        if intent_id not in knowledge.responses or intent.smalltalk:
            continue
        for example in intent.examples:
            reply = engine.respond(example.text)
            if reply.kind is ReplyKind.ANSWER and reply.answered_intent == intent_id:
                chosen.append((example.text, shown(knowledge.responses[intent_id].answer)))
                break
        if len(chosen) == QUESTIONS_EACH:
            return chosen
    raise AssertionError("not enough clearly answered questions in the content")


def test_two_workers_behind_nginx_answer_every_update_once_in_order(
    nginx: str,
    database: Database,
    engine: DialogueEngine,
    knowledge: Knowledge,
    tmp_path: Path,
) -> None:
    asked = questions(engine, knowledge)
    ports = [free_port(), free_port()]
    balancer_port = free_port()
    url = database.url.render_as_string(hide_password=False)
    settings = {
        "DATABASE_URL": url,
        "ANALYTICS_SALT": "workers-test-salt",
        "WEBHOOK_URL": "https://faq-bot.example.org/telegram",
        "WEBHOOK_SECRET": SECRET,
        "WORKERS": "2",
    }
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        unused = tmp_path / "unused.sqlite3"  # DATABASE_URL wins
        workers = [start_bot(emu, unused, PORT=str(port), **settings) for port in ports]
        try:
            for port in ports:
                _wait_healthy(port)
            with (
                load_balancer(ports, balancer_port),
                WebhookPusher(emu, f"http://127.0.0.1:{balancer_port}/telegram", SECRET) as pusher,
            ):
                users = [emu.add_user(f"Patient {n}") for n in range(USERS)]
                chats = [emu.private_chat(user) for user in users]
                for number, (question, _) in enumerate(asked):
                    for user, chat in zip(users, chats, strict=True):
                        emu.send_text(user, chat, question)
                    if number == QUESTIONS_EACH // 2:
                        _wait_until(lambda: pusher.delivered >= USERS * 4, 60)
                        workers[0].send_signal(signal.SIGKILL)  # mid-stream, nothing flushed
                        workers[0].wait(timeout=10)
                        workers[0] = start_bot(emu, unused, PORT=str(ports[0]), **settings)
                expected = [answer for _, answer in asked]
                _wait_until(
                    lambda: all(len(emu.bot_messages(c)) >= QUESTIONS_EACH for c in chats), 120
                )
                # Each once and in the order asked; the one exception a kill can make is an
                # answer sent just before it and sent again by another worker (a Bot API call
                # cannot be taken back). A chat can have two such updates at the killed
                # worker: one acknowledged and being answered (taken over later), and the
                # next, whose 200 the kill cut off (nginx hands it to the other worker).
                repeated = 0
                for chat in chats:
                    got = [m["text"] for m in emu.bot_messages(chat)]
                    once = [t for n, t in enumerate(got) if n == 0 or t != got[n - 1]]
                    order = [expected.index(t) if t in expected else t[:40] for t in got]
                    assert once == expected, order
                    assert len(got) - len(once) <= 2, order
                    repeated += len(got) - len(once)
                voters = list(zip(users, chats, strict=True))[: USERS // 2]
                for user, chat in voters:
                    first = emu.bot_messages(chat)[0]
                    (yes,) = [
                        b["callback_data"]
                        for b in buttons(first)
                        if b.get("callback_data", "").endswith(":y")
                    ]
                    emu.wait_for_callback_answer(emu.press_button(user, first, yes), timeout=30)
                _wait_until(pusher.idle, 30)
                emu.wait_until_idle(timeout=30)
                answers = emu.bot_message_count(chats)
                assert answers == USERS * QUESTIONS_EACH + repeated  # the taps sent nothing
            _wait_until(
                lambda: (
                    rows_of(database, "SELECT COUNT(*) FROM events WHERE feedback = 1")
                    == [(USERS // 2,)]
                ),
                30,
            )
            # Once each, even for an update handled again after the kill (its event's id is
            # the update's).
            assert rows_of(database, "SELECT COUNT(*) FROM events") == [(USERS * QUESTIONS_EACH,)]
            assert rows_of(database, "SELECT COUNT(*) FROM inbox WHERE done = 0") == [(0,)]
            # The only rejected calls: a request the SIGKILL cut off before its body was sent.
            assert all(not call.params for call in emu.errors), emu.dump()
            assert emu.unanswered_callback_queries() == []
        finally:
            logs = _stop(workers)
    for log in logs:
        assert "Traceback" not in log and "ERROR" not in log, log[-3000:]


def _wait_healthy(port: int, timeout: float = 60) -> None:
    def healthy() -> bool:
        try:
            return health_of(port)[0] == 200
        except OSError:
            return False

    _wait_until(healthy, timeout)


def _wait_until(condition: object, timeout: float) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s")
        time.sleep(0.1)


def _stop(workers: list[subprocess.Popen[str]]) -> list[str]:
    logs = []
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            out, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
            raise AssertionError(f"a worker did not stop on SIGTERM:\n{out[-3000:]}") from None
        logs.append(out)
    return logs
