"""Deployment settings from environment variables, read once at start-up into a typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


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
    port: int = 8443

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
        return cls(
            token=token,
            api_base_url=api_base_url,
            admin_ids=_parse_ids("ADMIN_IDS", environ.get("ADMIN_IDS", "")),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            port=_parse_port(environ.get("PORT", "").strip()),
        )


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
