"""One attempt to post an alert to a webhook; says how it went, never raises for the remote side.

aiohttp, not httpx: with a hundred alerts in flight, httpx's client managed about 115 POSTs/s
against a local receiver on this machine, aiohttp about 3,000 (bench/notify.py's baseline)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

log = logging.getLogger(__name__)

_RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Attempt:
    status_code: int | None = None
    error: str | None = None
    """Why no answer came (connection refused, timeout); None when the receiver answered."""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def final(self) -> bool:
        """Delivered, or refused in a way no retry mends (a client error other than a timeout or rate limit)."""
        if self.delivered:
            return True
        code = self.status_code
        return code is not None and 400 <= code < 500 and code not in _RETRYABLE_CLIENT_ERRORS

    @property
    def reason(self) -> str:
        return self.error if self.status_code is None else f"HTTP {self.status_code}"


class WebhookSender:
    """Posts alerts, at most `per_receiver` at once to one receiver (scheme, host and port): a slow
    receiver's alerts queue behind each other, never in front of another receiver's. The wait
    for a turn is not part of an attempt's timeout."""

    def __init__(self, session: aiohttp.ClientSession, per_receiver: int = 16) -> None:
        self._session = session
        self._per_receiver = per_receiver
        self._turns: dict[str, asyncio.Semaphore] = {}

    async def post(self, url: str, body: dict[str, Any], idempotency_key: str) -> Attempt:
        """POST `body` once, with the alert's key, so the receiver can drop repeats (a retry, or
        a redelivery after notify crashed between sending and recording)."""
        async with self._turn(url):
            try:
                async with self._session.post(url, json=body,
                                              headers={"Idempotency-Key": idempotency_key}) as response:
                    await response.read()
                    return Attempt(status_code=response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return Attempt(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    def _turn(self, url: str) -> asyncio.Semaphore:
        origin = str(URL(url).origin())
        turn = self._turns.get(origin)
        if turn is None:
            turn = self._turns[origin] = asyncio.Semaphore(self._per_receiver)
        return turn


def session(request_timeout: float) -> aiohttp.ClientSession:
    """The HTTP client every alert goes out on: one timeout per request; how many run at once is
    bounded per receiver by `WebhookSender`, not by the pool."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=request_timeout),
                                 connector=aiohttp.TCPConnector(limit=0, limit_per_host=0))
