"""The Bot API's error answers, and the HTML parser's errors in Telegram's wording."""

from __future__ import annotations

from .limits import JSON

# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def _bad(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def _forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html` with Telegram's wording (without the API prefix)."""
