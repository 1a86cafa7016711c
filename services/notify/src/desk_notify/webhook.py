"""One attempt to post an alert to a webhook; says how it went, never raises for the remote side."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

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
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, url: str, body: dict[str, Any], idempotency_key: str) -> Attempt:
        """POST `body` once, with the alert's key, so the receiver can drop repeats (a retry, or
        a redelivery after notify crashed between sending and recording)."""
        try:
            response = await self._client.post(url, json=body, headers={"Idempotency-Key": idempotency_key})
        except httpx.HTTPError as exc:
            return Attempt(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return Attempt(status_code=response.status_code)
