"""A local, stdlib-only emulator of the Telegram Bot API for end-to-end tests.

The emulator is an independent model of Telegram: it imports nothing from the ``bot``
package, speaks the real HTTP protocol (``/bot<token>/<method>``, JSON, form-urlencoded and
multipart bodies) and enforces the Bot API rules a bot most often breaks in production
(strict HTML parsing, text/caption limits, inline keyboard rules, callback/inline query
lifecycles, chat permissions). A test drives the *user* side through a thread-safe,
synchronous controller API while the bot under test runs (in-process or as a subprocess)
against the HTTP port.

Usage::

    from .botapi_emulator import BotApiEmulator    # from a test module in tests/e2e/

    with BotApiEmulator() as emu:               # binds 127.0.0.1:<random port>
        # Point the bot at the emulator, e.g. a subprocess with these settings:
        #   ApplicationBuilder().token(emu.token)
        #       .base_url(emu.base_url).base_file_url(emu.base_file_url)
        ana = emu.add_user("Ana", username="ana")
        chat = emu.private_chat(ana)
        emu.send_text(ana, chat, "/start")      # enqueues an Update for getUpdates
        reply = emu.wait_for_message(chat)       # next bot message in that chat
        assert "Welcome" in reply["text"]
        qid = emu.press_button(ana, reply, "faq:prices")
        emu.wait_for_callback_answer(qid)
        emu.wait_until_idle()
        emu.assert_clean()                       # no rejected call, no unanswered query

Messages, updates and answers are plain ``dict`` objects shaped exactly like the Bot API
JSON (``msg["text"]``, ``msg["reply_markup"]["inline_keyboard"]``...); users and chats are
small dataclasses with an ``id``.  Every API call is recorded in ``emu.calls`` (method,
decoded params, timestamp, result or error); rejected ones also appear in ``emu.errors``.

Deliberate deviations from Telegram (all on the strict side, so that a bot passing here
also passes on Telegram):

* an ``&`` that does not start an HTML entity is rejected in HTML text (Telegram keeps it
  literally, but it nearly always means the bot forgot ``html.escape``); pass
  ``strict_html_ampersand=False`` to get Telegram's lenient behaviour;
* an inline keyboard button with more than one action is rejected (Telegram silently uses
  one of them; the docs say exactly one must be used);
* ``parse_mode`` Markdown/MarkdownV2 is answered with "unsupported parse_mode".
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module of the package that defines it. Imported on first use, so that
# a test needing only the HTML checker (``.html``) does not load the whole emulator.
_WHERE = {
    "BotApiEmulator": "emulator",
    "ApiError": "errors",
    "HtmlParseError": "errors",
    "parse_html": "html",
    "utf16_len": "html",
    "make_png": "images",
    "Call": "model",
    "Chat": "model",
    "UploadedFile": "model",
    "User": "model",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


__all__ = [
    "ApiError",
    "BotApiEmulator",
    "Call",
    "Chat",
    "HtmlParseError",
    "UploadedFile",
    "User",
    "make_png",
    "parse_html",
    "utf16_len",
]
