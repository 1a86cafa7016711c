"""Connecting to NATS: one-line connection logging, endless reconnects."""

from __future__ import annotations

import logging
from typing import Any

import nats
from nats.aio.client import Client

from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)


def connect_options(settings: BusSettings, name: str) -> dict[str, Any]:
    """Keyword arguments for `nats.connect` (and FastStream's NatsBroker)."""
    options: dict[str, Any] = {"servers": settings.servers, "name": name, "max_reconnect_attempts": -1,
                               "reconnect_time_wait": 1, "error_cb": _on_error,
                               "disconnected_cb": _on_disconnected, "reconnected_cb": _on_reconnected}
    if settings.nats_user:
        options |= {"user": settings.nats_user, "password": settings.nats_password}
    if settings.nats_creds_file:
        options["user_credentials"] = settings.nats_creds_file
    return options


async def _on_error(exc: Exception) -> None:
    log.warning("NATS: %r", exc)  # one line, not nats-py's default traceback per reconnect attempt


async def _on_disconnected() -> None:
    log.warning("NATS disconnected (reconnecting unless closing)")


async def _on_reconnected() -> None:
    log.warning("NATS connection restored")


async def connect(settings: BusSettings, name: str) -> Client:
    """Connect; while no server answers (also at start) nats-py keeps trying every second."""
    return await nats.connect(**connect_options(settings, name))
