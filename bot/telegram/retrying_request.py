"""Outgoing Bot API calls that survive a passing fault.

One 5xx from Telegram, or a connection reset on the way, used to replace a patient's answer
with an apology. Calls are retried a few times with growing, jittered pauses (the
rate limiter already waits out 429s). A timeout is not retried: the call may well have
reached Telegram, and a patient must not get the same answer twice. Every call's wait is
bounded: PTB's own timeouts per attempt, and at most ATTEMPTS attempts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

ATTEMPTS = 3
FIRST_PAUSE = 0.5  # seconds; doubled after each failed attempt, then jittered
SERVER_ERROR = 500


class RetryingRequest(BaseRequest):
    """Wraps any request layer (PTB's HTTPX one, or a test's) with bounded retries."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

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
        api_method = url.rsplit("/", 1)[-1]
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS
            try:
                code, payload = await self.inner.do_request(
                    url,
                    method,
                    request_data,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout,
                )
            except TimedOut:
                raise  # it may have arrived: a retry could answer the patient twice
            except NetworkError as exc:
                if last:
                    raise
                log.warning("%s failed (%s): retrying", api_method, type(exc).__name__)
            else:
                if code < SERVER_ERROR or last:
                    return code, payload
                log.warning("%s got HTTP %d: retrying", api_method, code)
            await asyncio.sleep(FIRST_PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable: the last attempt returns or raises")
