"""Asking another service over NATS request-reply on behalf of a page (a login, an officer's
command): the projection holds no credentials or decisions of its own, it carries the person's."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from nats.aio.client import Client
from nats.errors import Error as NatsError

REQUEST_SECONDS = 5.0


async def ask(request: Request, subject: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The service's answer; None when it cannot be asked now (NATS away, nobody answering in time)."""
    nc: Client | None = getattr(request.app.state, "nats", None)
    if nc is None or not nc.is_connected:
        return None
    try:
        reply = await nc.request(subject, json.dumps(body).encode(), timeout=REQUEST_SECONDS)
        answer = json.loads(reply.data)
    except (NatsError, TimeoutError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None
