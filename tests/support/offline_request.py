"""A Bot API that answers every call locally, as PTB's own test suite does it: the real
``Application`` and ``Bot`` run unchanged, only the HTTP layer is replaced. Never the network.

Subclasses say what each method answers (``answer``); ``ok`` and ``error`` build the JSON
the Bot API would send.
"""

from __future__ import annotations

import json
from typing import Any

from telegram.request import BaseRequest, RequestData


def ok(result: Any) -> bytes:
    """A successful Bot API answer."""
    return json.dumps({"ok": True, "result": result}).encode()


def error(code: int, description: str) -> bytes:
    """A Bot API error answer ("Bad Request: ...", "Bad Gateway", ...)."""
    return json.dumps({"ok": False, "error_code": code, "description": description}).encode()


class OfflineRequest(BaseRequest):
    """PTB's request interface, answered by ``answer(method, parameters)``."""

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        return await self.answer(url.rsplit("/", 1)[-1], request_data)

    async def answer(self, method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        """The HTTP status and body the Bot API gives ``method`` called with ``request_data``."""
        raise NotImplementedError
