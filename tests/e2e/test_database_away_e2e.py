"""The PostgreSQL server goes away while the bot runs: patients are still answered, the
admins are told, and what waited for the database is recorded once it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.analytics.database_url import Database
from bot.content.knowledge import Knowledge
from tests.support.database_rows import rows_of
from tests.support.postgres import PostgresServer, PostgresUnavailableError, postgres_server

from .botapi_emulator import BotApiEmulator
from .running_bot import bot_process, shown
from .test_webhook_e2e import free_port, health_of, post, wait_for_server

SECRET = "away-secret"


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of this test's own, to stop and start (not the one other tests share)."""
    try:
        with postgres_server() as server:
            if server.cluster is None:
                pytest.skip("TEST_POSTGRESQL_URL's server cannot be stopped by a test")
            yield server
    except PostgresUnavailableError as exc:
        pytest.skip(f"PostgreSQL: {exc}")


def test_the_faq_keeps_answering_while_the_database_is_away(
    own_server: PostgresServer, knowledge: Knowledge, tmp_path: object
) -> None:
    cluster = own_server.cluster
    assert cluster is not None
    database = own_server.new_database()
    url = database.url.render_as_string(hide_password=False)
    port = free_port()
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        admin = emu.add_user("Ada")
        emu.send_text(admin, emu.private_chat(admin), "hi")  # the admin has opened the bot
        settings = {
            "DATABASE_URL": url,
            "ANALYTICS_SALT": "away-salt",
            "ADMIN_IDS": str(admin.id),
            "WEBHOOK_URL": "https://faq-bot.example.org/telegram",
            "WEBHOOK_SECRET": SECRET,
            "PORT": str(port),
        }
        with bot_process(emu, cluster.directory / "unused.sqlite3", **settings) as running:
            emu.wait_for_call("setWebhook", timeout=30)
            wait_for_server(port)
            patient = emu.add_user("Pia")
            chat = emu.private_chat(patient)
            hook = f"http://127.0.0.1:{port}/telegram"
            answer = shown(knowledge.responses["pricing"].answer)

            def ask() -> str:
                emu.send_text(patient, chat, "how much is a session?")
                for update in emu.take_updates():
                    assert post(hook, update, secret=SECRET) == 200
                return str(emu.wait_for_message(chat, timeout=30)["text"])

            for update in emu.take_updates():  # the admin's "hi"
                assert post(hook, update, secret=SECRET) == 200
            assert ask() == answer

            cluster.stop()
            assert ask() == answer  # the FAQ does not need the database
            admin_chat = emu.private_chat(admin)
            alert = emu.wait_for_message(
                admin_chat, lambda m: "cannot be reached" in m["text"], timeout=30
            )
            assert alert["text"].startswith("The database cannot be reached.")
            assert health_of(port)[0] == 503

            cluster.start()
            emu.wait_for_message(admin_chat, lambda m: "answers again" in m["text"], timeout=30)
            _wait_for_events(database, 2)
            assert health_of(port)[0] == 200
            emu.assert_clean()
    assert "cannot be reached" in running.log
    own_server.drop(database)


def _wait_for_events(database: Database, expected: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    statement = "SELECT COUNT(*) FROM events WHERE intent = 'pricing'"
    while rows_of(database, statement) != [(expected,)]:
        if time.monotonic() > deadline:
            raise AssertionError("the events that waited for the database were not recorded")
        time.sleep(0.2)
