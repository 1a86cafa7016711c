"""Talking to JetStream: connection options, effectively-once publishing, dead letters."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck

from desk_shared import subjects
from desk_shared.events import Event
from desk_shared.settings import BusSettings

log = logging.getLogger(__name__)


class PublishFailed(RuntimeError):
    """The log did not acknowledge a publish within the retry budget: nothing may be acked."""


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


class EventPublisher:
    """Appends events to the log with `Nats-Msg-Id` = event id.

    A publish that gets no answer (no stream leader during an election in a cluster, a
    reconnect) is retried with the same Msg-Id for `publish_retry_seconds`, so a retry can
    never make a duplicate; after that `PublishFailed` is raised."""

    def __init__(self, js: JetStreamContext, settings: BusSettings) -> None:
        self._js = js
        self._stream = settings.stream_name
        self._retry_seconds = settings.publish_retry_seconds

    async def publish(self, event: Event) -> PubAck:
        return await self.publish_raw(subjects.subject_for(event.event_type), event.to_json(), str(event.event_id))

    async def publish_all(self, events: list[Event]) -> list[PubAck]:
        """Publish several events concurrently; all must be acknowledged."""
        return list(await asyncio.gather(*(self.publish(e) for e in events)))

    async def publish_raw(self, subject: str, data: bytes, msg_id: str, headers: dict[str, str] | None = None,
                          stream: str | None = None) -> PubAck:
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.1
        while True:
            try:
                ack = await self._js.publish(subject, data, timeout=2.0, stream=stream or self._stream,
                                             headers={"Nats-Msg-Id": msg_id, **(headers or {})})
            except (TimeoutError, NatsError) as exc:
                if time.monotonic() + delay > deadline:
                    raise PublishFailed(f"publish to {subject} not acknowledged: {exc!r}") from exc
                log.warning("publish to %s not acknowledged (%r); retrying with the same Msg-Id", subject, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if ack.duplicate:
                log.info("duplicate %s dropped by JetStream (first at seq %s)", msg_id, ack.seq)
            return ack


class DeadLetters:
    """Keeps a message a consumer could not process, with the reason, in the dead-letter stream."""

    def __init__(self, publisher: EventPublisher, settings: BusSettings, consumer: str) -> None:
        self._publisher = publisher
        self._stream = settings.dead_letter_stream_name
        self._consumer = consumer

    async def put(self, msg: Msg, reason: str) -> None:
        meta = msg.metadata
        source = f"{meta.stream}:{meta.sequence.stream}"
        headers = {"Desk-Dead-Letter-Reason": reason[:1000], "Desk-Consumer": self._consumer,
                   "Desk-Source": source, "Desk-Source-Subject": msg.subject}
        await self._publisher.publish_raw(subjects.dead_letter_subject(self._consumer), msg.data,
                                          f"{self._consumer}:{source}", headers, stream=self._stream)
        log.error("dead-lettered %s (%s) for %s: %s", source, msg.subject, self._consumer, reason)
