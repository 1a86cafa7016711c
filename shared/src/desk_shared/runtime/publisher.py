"""Appending to the log effectively once: `Nats-Msg-Id` = event id, retried with the same id.

Publishes are pipelined (`publish_async`): many are on the wire at once and each is awaited
only for its acknowledgement, which is what makes a batch fast with fsync on every write.
Publishes on one connection are stored in the order they were sent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck

from desk_shared.contracts.envelope import Event
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

ACK_TIMEOUT_SECONDS = 2.0


class PublishFailed(RuntimeError):
    """The log did not acknowledge a publish within the retry budget: nothing may be acked."""


class EventPublisher:
    """A publish that gets no answer (no stream leader during an election in a cluster, a
    reconnect) is retried with the same Msg-Id for `publish_retry_seconds`, so a retry can
    never make a duplicate; after that `PublishFailed` is raised."""

    def __init__(self, js: JetStreamContext, settings: BusSettings) -> None:
        self._js = js
        self._stream = settings.stream_name
        self._retry_seconds = settings.publish_retry_seconds

    async def publish(self, event: Event) -> PubAck:
        return (await self.publish_all([event]))[0]

    async def publish_all(self, events: Sequence[Event]) -> list[PubAck]:
        """Publish `events` in this order, pipelined; all must be acknowledged."""
        return await self.publish_many([(e.subject, e.to_json(), str(e.event_id), None) for e in events])

    async def publish_many(self, messages: Sequence[tuple[str, bytes, str, dict[str, str] | None]],
                           stream: str | None = None) -> list[PubAck]:
        """(subject, data, msg_id, headers) each, sent in order without waiting, then their acks
        awaited; a publish that failed is retried alone (its Msg-Id makes that safe)."""
        stream = stream or self._stream
        futures: list[asyncio.Future[PubAck] | None] = []
        for subject, data, msg_id, headers in messages:
            try:
                futures.append(await self._send(subject, data, msg_id, headers, stream))
            except NatsError as exc:  # not even sent (connection closed): retried below
                log.warning("publish to %s not sent (%r); retrying with the same Msg-Id", subject, exc)
                futures.append(None)
        sent = [f for f in futures if f is not None]
        if sent:
            await asyncio.wait(sent, timeout=ACK_TIMEOUT_SECONDS)
        acks: list[PubAck] = []
        try:
            for (subject, data, msg_id, headers), future in zip(messages, futures, strict=True):
                ack = _result(future)
                if ack is None:
                    ack = await self.publish_raw(subject, data, msg_id, headers, stream=stream)
                acks.append(ack)
        finally:
            for future in sent:  # retrieve what failed, so nothing is reported as never retrieved
                if not future.done():
                    future.cancel()
                elif not future.cancelled():
                    future.exception()
        return acks

    async def publish_raw(self, subject: str, data: bytes, msg_id: str, headers: dict[str, str] | None = None,
                          stream: str | None = None) -> PubAck:
        """One publish, retried with the same Msg-Id until acknowledged or the budget is spent."""
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.1
        while True:
            try:
                future = await self._send(subject, data, msg_id, headers, stream or self._stream)
                return await asyncio.wait_for(future, ACK_TIMEOUT_SECONDS)
            except (TimeoutError, NatsError) as exc:
                if time.monotonic() + delay > deadline:
                    raise PublishFailed(f"publish to {subject} not acknowledged: {exc!r}") from exc
                log.warning("publish to %s not acknowledged (%r); retrying with the same Msg-Id", subject, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _send(self, subject: str, data: bytes, msg_id: str, headers: dict[str, str] | None,
                    stream: str) -> asyncio.Future[PubAck]:
        # a fresh dict each time: publish_async adds the expected-stream header to it
        return await self._js.publish_async(subject, data, stream=stream,
                                            headers={"Nats-Msg-Id": msg_id, **(headers or {})})


def _result(future: asyncio.Future[PubAck] | None) -> PubAck | None:
    """The acknowledgement, or None when the publish must be retried (no answer, or an error)."""
    if future is None or not future.done() or future.cancelled() or future.exception() is not None:
        if future is not None and future.done() and not future.cancelled():
            log.warning("publish not acknowledged (%r); retrying with the same Msg-Id", future.exception())
        return None
    ack = future.result()
    if ack.duplicate:
        log.debug("duplicate dropped by JetStream (first at seq %s)", ack.seq)
    return ack
