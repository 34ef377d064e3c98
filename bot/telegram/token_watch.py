"""Stop the bot when Telegram rejects its token while it runs.

PTB's polling loop gives up on a 401 (a revoked or replaced token) but leaves the process
running, idle: a supervisor would see a healthy process that answers nobody. This request
class, used for getUpdates, notices the 401 and stops the application, so the process
exits with a clear message and a non-zero status and the supervisor can act.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

UNAUTHORIZED = 401
NO_UPDATES = b'{"ok": true, "result": []}'


class TokenRejectedError(RuntimeError):
    """Telegram answered 401: the token was revoked or replaced."""


class WatchedRequest(HTTPXRequest):
    """An HTTPXRequest for getUpdates that calls ``on_rejected`` once when Telegram answers
    401, and answers PTB with an empty batch of updates from then on."""

    def __init__(
        self,
        on_rejected: Callable[[], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._on_rejected = on_rejected
        self.rejected = False

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if code == UNAUTHORIZED:
            if not self.rejected:
                self.rejected = True
                log.error("Telegram rejected the bot token (401): stopping")
                self._on_rejected()
            # Handled here: PTB's polling sees "no updates" and shuts down in order, instead
            # of dying mid-loop and leaving its tasks behind.
            return 200, NO_UPDATES
        return code, payload
