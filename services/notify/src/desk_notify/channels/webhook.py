"""One attempt to post an alert to a webhook, signed (HMAC-SHA256 over the time and the body).

aiohttp, not httpx: with a hundred alerts in flight, httpx's client managed about 115 POSTs/s
against a local receiver on this machine, aiohttp about 3,000 (bench/notify.py's baseline)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from desk_notify.channels.attempt import Attempt

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
"""A receiver refuses a signed request older (or newer) than this: a captured request cannot be replayed later."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """`v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`: what the `Desk-Signature` header carries."""
    return "v1=" + hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """For receivers: the request is signed with `secret` and recent (`Desk-Timestamp`, `Desk-Signature`)."""
    try:
        timestamp = int(headers.get("Desk-Timestamp", ""))
    except ValueError:
        return False
    recent = abs((time.time() if now is None else now) - timestamp) <= SIGNATURE_TOLERANCE_SECONDS
    return recent and hmac.compare_digest(headers.get("Desk-Signature", ""), signature(secret, timestamp, body))


class WebhookSender:
    """Posts alerts, at most `per_receiver` at once to one receiver (scheme, host and port): a slow
    receiver's alerts queue behind each other, never in front of another receiver's. The wait
    for a turn is not part of an attempt's timeout."""

    def __init__(self, session: aiohttp.ClientSession, per_receiver: int = 16) -> None:
        self._session = session
        self._per_receiver = per_receiver
        self._turns: dict[str, asyncio.Semaphore] = {}

    async def post(self, url: str, body: dict[str, Any], idempotency_key: str, secret: bytes | None = None
                   ) -> Attempt:
        """POST `body` once, with the alert's key, so the receiver can drop repeats (a retry, or
        a redelivery after notify crashed between sending and recording), signed with `secret`
        and the time of sending so the receiver can tell it is ours and fresh."""
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        if secret:
            timestamp = int(time.time())
            headers |= {"Desk-Timestamp": str(timestamp), "Desk-Signature": signature(secret, timestamp, data)}
        async with self._turn(url):
            try:
                async with self._session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    return Attempt.http(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return Attempt.no_answer(exc)

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
