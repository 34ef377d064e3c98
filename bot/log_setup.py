"""Logging for the running bot: one stream, a level from LOG_LEVEL, nothing private in it.

Patients write about their health, and the bot token is a password. Our own modules never
log message text; two libraries would at low levels: httpx logs every request URL (which
holds the token) at INFO, and python-telegram-bot logs whole updates (with their text) at
DEBUG. So those stay at WARNING whatever LOG_LEVEL says, and every line that still
mentions the token (an exception naming a URL, say) has it masked.
"""

from __future__ import annotations

import logging

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LEVEL = "INFO"
# Loggers that may print request URLs or update contents below WARNING.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "apscheduler", "tornado")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogLevelError(ValueError):
    """LOG_LEVEL names no level we know."""


class SecretMaskingFormatter(logging.Formatter):
    """Formats a record, then replaces every secret in the whole line (traceback included)."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__(_FORMAT)
        self._secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, "<secret>")
        return line


class ShortRejectedToken(logging.Filter):
    """PTB logs a rejected token (401) with a full traceback before it raises; we then say
    plainly what happened and exit, so its line keeps the message and drops the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import InvalidToken

        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            record.exc_info = None
            record.exc_text = None
        return True


def parse_level(raw: str) -> int:
    """LOG_LEVEL's value as a logging level; empty means INFO."""
    name = (raw.strip() or DEFAULT_LEVEL).upper()
    if name not in LEVELS:
        raise LogLevelError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, not {raw!r}")
    return int(logging.getLevelName(name))


def configure(level: int, secrets: tuple[str, ...] = ()) -> None:
    """Log to stderr at ``level``, libraries that could leak kept at WARNING, secrets masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(SecretMaskingFormatter(secrets))
    handler.addFilter(ShortRejectedToken())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
