"""Connecting to NATS: one-line connection logging, endless reconnects."""

from __future__ import annotations

import logging
from typing import Any

import nats
from nats.aio.client import Client

from desk_shared.contracts import subjects
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)


class ConnectionLog:
    """One line per connection event; a disconnect the client asked for (closing) is not news."""

    def __init__(self) -> None:
        self.client: Client | None = None

    async def error(self, exc: Exception) -> None:
        log.warning("NATS: %r", exc)  # one line, not nats-py's default traceback per reconnect attempt

    async def disconnected(self) -> None:
        if self.client is None or not (self.client.is_closed or self.client.is_draining):
            log.warning("NATS disconnected; reconnecting")

    async def reconnected(self) -> None:
        log.warning("NATS connection restored")


def connect_options(settings: BusSettings, name: str, events: ConnectionLog | None = None) -> dict[str, Any]:
    """Keyword arguments for `nats.connect` (and FastStream's NatsBroker)."""
    events = events or ConnectionLog()
    options: dict[str, Any] = {"servers": settings.servers, "name": name, "max_reconnect_attempts": -1,
                               "reconnect_time_wait": 1, "error_cb": events.error,
                               "disconnected_cb": events.disconnected, "reconnected_cb": events.reconnected}
    if settings.nats_user:
        options |= {"user": settings.nats_user, "password": settings.nats_password,
                    "inbox_prefix": subjects.inbox_prefix(settings.nats_user)}
    if settings.nats_creds_file:
        options["user_credentials"] = settings.nats_creds_file
    return options


async def connect(settings: BusSettings, name: str) -> Client:
    """Connect; while no server answers (also at start) nats-py keeps trying every second."""
    events = ConnectionLog()
    events.client = await nats.connect(**connect_options(settings, name, events))
    return events.client
