"""Deployment settings from environment variables, read once at start-up into a typed object."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bot.analytics.database_url import Database, DatabaseUrlError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_PATH = Path("data") / "bot.sqlite3"
DEFAULT_DATABASE = Database.sqlite(DEFAULT_DATABASE_PATH)
_CHANNEL = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,})$")


class SettingsError(ValueError):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class BotSettings:
    """What the Telegram bot needs to run; secrets never come from code."""

    token: str
    api_base_url: str = DEFAULT_API_BASE_URL
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # True when WEBHOOK_SECRET was unset and this run made its own (said in the log).
    webhook_secret_generated: bool = False
    port: int = 8443
    channel_id: str | int | None = None
    discussion_replies: bool = True
    staff_chat_id: int | None = None
    database: Database = DEFAULT_DATABASE
    retention_days: int = 90
    analytics_salt: str = ""
    # How many copies of the bot serve it; each keeps to its share of Telegram's limits.
    workers: int = 1
    # Off only for a local Bot API server that has no flood limits, or a benchmark.
    rate_limit: bool = True

    @property
    def api_file_url(self) -> str:
        """Base URL for file downloads, next to the API's (".../bot" -> ".../file/bot")."""
        base, _, last = self.api_base_url.rstrip("/").rpartition("/")
        return f"{base}/file/{last}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BotSettings:
        """Read and check every variable; raise SettingsError naming the first bad one."""
        token = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather")
        if ":" not in token:
            raise SettingsError("TELEGRAM_BOT_TOKEN looks malformed: expected '<digits>:<secret>'")
        api_base_url = environ.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
        _require_http_url("TELEGRAM_API_BASE_URL", api_base_url)
        webhook_url = environ.get("WEBHOOK_URL", "").strip() or None
        if webhook_url is not None:
            _require_http_url("WEBHOOK_URL", webhook_url, https=True)
        webhook_secret = environ.get("WEBHOOK_SECRET", "").strip() or None
        if webhook_secret is not None and not _valid_secret(webhook_secret):
            raise SettingsError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        generated = webhook_url is not None and webhook_secret is None
        if generated:
            # Never serve a webhook that accepts updates from anyone who knows its URL: this
            # run gets a random secret, which set_webhook gives Telegram at start. Several
            # workers behind one URL must share one, so they need WEBHOOK_SECRET set.
            webhook_secret = secrets.token_urlsafe(32)
        database = database_from_env(environ)
        salt = environ.get("ANALYTICS_SALT", "").strip()
        if not salt and database.path is None:
            raise SettingsError(
                "ANALYTICS_SALT must be set with a PostgreSQL DATABASE_URL: every worker must "
                "hash user ids alike, and a salt file on the disk may not outlive a deploy "
                "(make one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return cls(
            token=token,
            api_base_url=api_base_url,
            admin_ids=_parse_ids("ADMIN_IDS", environ.get("ADMIN_IDS", "")),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_secret_generated=generated,
            port=_parse_port(environ.get("PORT", "").strip()),
            channel_id=_parse_channel(environ.get("CHANNEL_ID", "").strip()),
            discussion_replies=_parse_switch(
                "DISCUSSION_REPLIES", environ.get("DISCUSSION_REPLIES", "on")
            ),
            staff_chat_id=_parse_chat_id("STAFF_CHAT_ID", environ.get("STAFF_CHAT_ID", "").strip()),
            database=database,
            retention_days=_parse_positive(
                "RETENTION_DAYS", environ.get("RETENTION_DAYS", "").strip(), 90
            ),
            analytics_salt=salt or stored_salt(database.path or DEFAULT_DATABASE_PATH),
            workers=_parse_positive("WORKERS", environ.get("WORKERS", "").strip(), 1),
            rate_limit=_parse_switch("RATE_LIMIT", environ.get("RATE_LIMIT", "on")),
        )


def database_from_env(environ: Mapping[str, str]) -> Database:
    """DATABASE_URL (sqlite:///... or postgresql://...), else DATABASE_PATH (a SQLite file),
    else data/bot.sqlite3; SettingsError names a malformed URL."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        try:
            return Database.parse(url)
        except DatabaseUrlError as exc:
            raise SettingsError(str(exc)) from None
    return Database.sqlite(Path(environ.get("DATABASE_PATH", "").strip() or DEFAULT_DATABASE_PATH))


def _require_http_url(name: str, value: str, https: bool = False) -> None:
    parsed = urlparse(value)
    schemes = ("https",) if https else ("http", "https")
    if parsed.scheme not in schemes or not parsed.netloc:
        raise SettingsError(f"{name} must be an {' or '.join(schemes)} URL, not {value!r}")


def _valid_secret(secret: str) -> bool:
    # Telegram's rule for the X-Telegram-Bot-Api-Secret-Token header.
    return 1 <= len(secret) <= 256 and all(
        c.isascii() and (c.isalnum() or c in "_-") for c in secret
    )


def _parse_ids(name: str, raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(" ", "").split(","):
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(
                f"{name} must be comma-separated numeric user ids, not {part!r}"
            ) from None
    return frozenset(ids)


def _parse_port(raw: str) -> int:
    if not raw:
        return 8443
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"PORT must be a number from 1 to 65535, not {raw!r}")
    return int(raw)


def stored_salt(database_path: Path) -> str:
    """A random salt kept beside the database, made on first run when ANALYTICS_SALT is unset.

    A constant default would let anyone recompute the user hashes; a random one per install
    keeps them meaningless outside this database.
    """
    path = database_path.with_name(database_path.name + ".salt")
    try:
        if path.is_file():
            stored = path.read_text(encoding="utf-8").strip()
            if not stored:
                raise SettingsError(
                    f"the analytics salt file {path} is empty (was the disk full?): restore it "
                    "from a backup, or delete it and run 'python -m bot adopt-salt' to go on "
                    "with a new salt (earlier feedback buttons and /forget then no longer find "
                    "their records)"
                )
            return stored
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        salt = secrets.token_hex(32)
        # Written to a private temporary file, then linked into place: never readable by
        # others, and never left half-written (an empty salt file) by a full disk.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".salt-")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(salt + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            # A link never replaces: of two first starts at once, the first salt stays and
            # the other process reads it, so both hash user ids alike.
            os.link(temporary, path)
        except FileExistsError:
            return stored_salt(database_path)
        finally:
            Path(temporary).unlink()
    except OSError as exc:
        raise SettingsError(
            f"DATABASE_PATH: cannot keep the analytics salt in {path}: {exc}"
        ) from None
    return salt


def _parse_channel(raw: str) -> str | int | None:
    if not raw:
        return None
    if not _CHANNEL.match(raw):
        raise SettingsError(f"CHANNEL_ID must be @channelname or a -100... id, not {raw!r}")
    return int(raw) if raw.startswith("-") else raw


def _parse_chat_id(name: str, raw: str) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(
            f"{name} must be a numeric chat id such as -1001234567890, not {raw!r}"
        ) from None


def _parse_switch(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise SettingsError(f"{name} must be on or off, not {raw!r}")


def _parse_positive(name: str, raw: str, default: int) -> int:
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of days, at least 1, not {raw!r}")
    return int(raw)
