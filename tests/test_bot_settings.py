"""Deployment settings: read once from the environment; a bad value is named, not guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.telegram.settings import BotSettings, SettingsError

TOKEN = {"TELEGRAM_BOT_TOKEN": "123:abc", "ANALYTICS_SALT": "salt"}


def test_defaults_with_only_a_token(tmp_path: Path) -> None:
    settings = BotSettings.from_env({**TOKEN, "DATABASE_PATH": str(tmp_path / "db.sqlite3")})
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.api_file_url == "https://api.telegram.org/file/bot"
    assert (settings.port, settings.retention_days, settings.discussion_replies) == (8443, 90, True)
    assert settings.admin_ids == frozenset() and settings.webhook_url is None


def test_every_setting_is_read() -> None:
    settings = BotSettings.from_env(
        {
            **TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "ADMIN_IDS": "11, 22",
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": "s3cret_-x",
            "PORT": "8080",
            "CHANNEL_ID": "-1001234567890",
            "DISCUSSION_REPLIES": "off",
            "STAFF_CHAT_ID": "-100999",
            "RETENTION_DAYS": "30",
        }
    )
    assert settings.api_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.admin_ids == frozenset({11, 22})
    assert (settings.channel_id, settings.staff_chat_id) == (-1001234567890, -100999)
    assert (settings.port, settings.retention_days, settings.discussion_replies) == (
        8080,
        30,
        False,
    )


def test_a_random_salt_is_kept_beside_the_database(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123:abc", "DATABASE_PATH": str(tmp_path / "data" / "db.sqlite3")}
    first = BotSettings.from_env(env).analytics_salt
    assert len(first) == 64
    assert BotSettings.from_env(env).analytics_salt == first


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", ""),
        ("TELEGRAM_BOT_TOKEN", "no-colon"),
        ("TELEGRAM_API_BASE_URL", "ftp://x"),
        ("ADMIN_IDS", "11,bob"),
        ("WEBHOOK_URL", "http://insecure.example.org"),
        ("WEBHOOK_SECRET", "has spaces"),
        ("PORT", "70000"),
        ("CHANNEL_ID", "mychannel"),
        ("DISCUSSION_REPLIES", "maybe"),
        ("STAFF_CHAT_ID", "staff"),
        ("RETENTION_DAYS", "0"),
    ],
)
def test_a_bad_value_is_named(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        BotSettings.from_env({**TOKEN, variable: value})


def test_webhook_without_a_secret_gets_a_random_one() -> None:
    """A webhook that accepts anyone's updates must never run (forged staff replies)."""
    environ = {"TELEGRAM_BOT_TOKEN": "123:abc", "WEBHOOK_URL": "https://bot.example.org/hook"}
    first = BotSettings.from_env(environ)
    second = BotSettings.from_env(environ)
    assert first.webhook_secret and second.webhook_secret
    assert first.webhook_secret != second.webhook_secret  # random, not a constant in code
    assert len(first.webhook_secret) >= 32 and first.webhook_secret_generated
    mine = BotSettings.from_env({**environ, "WEBHOOK_SECRET": "mine"})
    assert (mine.webhook_secret, mine.webhook_secret_generated) == ("mine", False)
    assert BotSettings.from_env({"TELEGRAM_BOT_TOKEN": "123:abc"}).webhook_secret is None


def test_salt_is_private_whole_and_the_same_for_simultaneous_first_starts(
    tmp_path: Path,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from bot.telegram.settings import stored_salt

    database = tmp_path / "new-folder" / "bot.sqlite3"
    with ThreadPoolExecutor(8) as pool:
        salts = set(pool.map(lambda _: stored_salt(database), range(16)))
    assert len(salts) == 1 and len(salts.pop()) == 64
    salt_file = database.with_name("bot.sqlite3.salt")
    assert salt_file.stat().st_mode & 0o777 == 0o600
    assert database.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in database.parent.iterdir()] == ["bot.sqlite3.salt"]  # no leftovers

    salt_file.write_text("")  # what a full disk used to leave behind
    with pytest.raises(SettingsError, match="is empty"):
        stored_salt(database)


@pytest.mark.parametrize(
    ("url", "dialect", "shown"),
    [
        ("sqlite:///data/x.sqlite3", "sqlite", "data/x.sqlite3"),
        ("sqlite:////srv/x.sqlite3", "sqlite", "/srv/x.sqlite3"),
        ("postgresql://bot:pw@db:5432/clinic", "postgresql", "postgresql://bot:***@db:5432/clinic"),
        ("postgres://bot:pw@db/clinic", "postgresql", "postgresql://bot:***@db/clinic"),
    ],
)
def test_database_url_chooses_the_database(url: str, dialect: str, shown: str) -> None:
    settings = BotSettings.from_env({**TOKEN, "DATABASE_URL": url, "DATABASE_PATH": "ignored"})
    assert settings.database.dialect == dialect
    assert str(settings.database) == shown


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("mysql://bot:secret@h/db", "'mysql' databases are not supported"),
        ("postgresql://bot:secret@h", "names no database"),
        ("sqlite://", "names no file"),
        ("bot:secret@nowhere", "is not a database URL"),
    ],
)
def test_a_malformed_database_url_is_named_with_its_password_hidden(
    url: str, complaint: str
) -> None:
    with pytest.raises(SettingsError, match=complaint) as raised:
        BotSettings.from_env({**TOKEN, "DATABASE_URL": url})
    assert "DATABASE_URL" in str(raised.value) and "secret" not in str(raised.value)


def test_postgresql_needs_a_salt_every_worker_shares() -> None:
    with pytest.raises(SettingsError, match="ANALYTICS_SALT must be set"):
        BotSettings.from_env(
            {"TELEGRAM_BOT_TOKEN": "123:abc", "DATABASE_URL": "postgresql://h/clinic"}
        )


def test_workers_share_telegrams_limits() -> None:
    from bot.telegram.application import shared_rate_limiter

    settings = BotSettings.from_env({**TOKEN, "WORKERS": "3"})
    assert settings.workers == 3
    limiter = shared_rate_limiter(settings.workers)
    assert limiter._base_limiter is not None and limiter._base_limiter.max_rate == 10
    with pytest.raises(SettingsError, match="WORKERS"):
        BotSettings.from_env({**TOKEN, "WORKERS": "0"})
