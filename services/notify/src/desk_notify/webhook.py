"""Posting an alert to a webhook with retries; reports how it ended, never raises for the remote side."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from desk_notify.retry import RetryPolicy

log = logging.getLogger(__name__)

Heartbeat = Callable[[], Awaitable[None]]
"""Called between attempts (the consumer's `msg.in_progress()`), so the input is not redelivered meanwhile."""


@dataclass(frozen=True)
class Delivery:
    attempts: int
    status_code: int | None = None
    reason: str | None = None
    """None when delivered."""

    @property
    def delivered(self) -> bool:
        return self.reason is None


async def _no_heartbeat() -> None:
    return None


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self._client = client
        self._policy = policy
        self._rng = rng or random.Random()

    async def send(self, url: str, body: dict[str, Any], idempotency_key: str,
                   heartbeat: Heartbeat = _no_heartbeat) -> Delivery:
        """POST `body` until a 2xx, a final answer, or `max_attempts`; the same key every time
        so the receiver can drop repeats (ours, or after a redelivery of the escalation)."""
        headers = {"Idempotency-Key": idempotency_key}
        reason = "no attempt made"
        for attempt in range(1, self._policy.max_attempts + 1):
            if attempt > 1:
                await heartbeat()
                await asyncio.sleep(self._policy.delay(attempt - 1, self._rng))
            try:
                response = await self._client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("alert %s attempt %d: %s", idempotency_key, attempt, reason)
                continue
            status = response.status_code
            if self._policy.delivered(status):
                return Delivery(attempts=attempt, status_code=status)
            reason = f"HTTP {status}"
            if not self._policy.retryable(status):
                return Delivery(attempts=attempt, status_code=status, reason=f"{reason} (not retried)")
            log.warning("alert %s attempt %d: %s", idempotency_key, attempt, reason)
        return Delivery(attempts=self._policy.max_attempts, reason=f"gave up after {self._policy.max_attempts} "
                                                                   f"attempts, last: {reason}")
