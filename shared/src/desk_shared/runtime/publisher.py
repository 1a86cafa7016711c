"""Appending to the log effectively once: `Nats-Msg-Id` = event id, retried with the same id.

Publishes are pipelined: each goes out over core NATS with a reply inbox and is awaited only
for its acknowledgement, so many are on the wire at once, which is what makes a batch fast
with fsync on every write. Publishes on one connection are stored in the order they were sent.
One sweeper times out acknowledgements that never come (a reconnect, a leader election)
instead of a timer per publish; nats-py's own `publish_async` has no timeout at all."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

from desk_shared.contracts.envelope import Event
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

ACK_TIMEOUT_SECONDS = 2.0
_NO_RESPONDERS = "503"

Message = tuple[str, bytes, str, dict[str, str] | None]
"""subject, data, Msg-Id, extra headers"""


class PublishFailed(RuntimeError):
    """The log did not acknowledge a publish within the retry budget: nothing may be acked."""


WRONG_LAST_SEQUENCE = 10071
DUPLICATE_IN_BATCH = 10201


class AppendConflict(RuntimeError):
    """An atomic append was refused because the log moved on since the writer read it (or it
    holds one of the events already): nothing of the batch was stored; read again, decide again."""

    def __init__(self, reason: str, last_seq: int | None = None) -> None:
        super().__init__(reason)
        self.last_seq = last_seq
        """The sequence the log has there now, when the server said."""


@dataclass(frozen=True)
class Expected:
    """The condition of an atomic append: the last event stored on `subjects` is at `last_seq` (0: none)."""

    last_seq: int
    subjects: str


class _Acks:
    """Futures of publishes awaiting their acknowledgement, keyed by reply token."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._prefix = ""
        self._tokens = itertools.count()
        self._pending: dict[str, tuple[asyncio.Future[PubAck], float]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock = asyncio.Lock()

    async def send(self, subject: str, data: bytes, headers: dict[str, str]) -> asyncio.Future[PubAck]:
        if self._sweeper is None:
            await self._start()
        token = str(next(self._tokens))
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._pending[token] = (future, time.monotonic() + ACK_TIMEOUT_SECONDS)
        try:
            await self.nc.publish(subject, data, reply=self._prefix + token, headers=headers)
        except BaseException:
            self._pending.pop(token, None)
            raise
        return future

    async def _start(self) -> None:
        async with self._starting:
            if self._sweeper is None:
                self._prefix = self.nc.new_inbox() + "."
                await self.nc.subscribe(self._prefix + "*", cb=self._on_reply)
                self._sweeper = asyncio.create_task(self._sweep(), name="publish-ack-sweeper")

    async def _on_reply(self, msg: Msg) -> None:
        entry = self._pending.pop(msg.subject[len(self._prefix):], None)
        if entry is None or entry[0].done():
            return
        future = entry[0]
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            future.set_exception(NoStreamResponseError())
            return
        try:
            reply = json.loads(msg.data)
            if "error" in reply:
                APIError.from_error(reply["error"])  # raises the error's class (nats-py never returns one)
            future.set_result(PubAck.from_response(reply))
        except (APIError, ValueError, KeyError, TypeError) as exc:
            future.set_exception(exc)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(ACK_TIMEOUT_SECONDS / 4)
            now = time.monotonic()
            for token in [t for t, (_, deadline) in self._pending.items() if deadline < now]:
                future, _ = self._pending.pop(token)
                if not future.done():
                    future.set_exception(TimeoutError("no acknowledgement"))

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()


class EventPublisher:
    """A publish that gets no answer (no stream leader during an election in a cluster, a
    reconnect) is retried with the same Msg-Id for `publish_retry_seconds`, so a retry can
    never make a duplicate; after that `PublishFailed` is raised."""

    def __init__(self, js: JetStreamContext, settings: BusSettings) -> None:
        self._acks = _Acks(js._nc)  # nats-py keeps the connection there; acks come back over core NATS
        self._stream = settings.stream_name
        self._retry_seconds = settings.publish_retry_seconds

    async def publish(self, event: Event) -> PubAck:
        return (await self.publish_all([event]))[0]

    async def publish_all(self, events: Sequence[Event]) -> list[PubAck]:
        """Publish `events` in this order, pipelined; all must be acknowledged."""
        return await self.publish_many([(e.address, e.to_json(), str(e.event_id), None) for e in events])

    async def publish_many(self, messages: Sequence[Message], stream: str | None = None) -> list[PubAck]:
        """Send every message without waiting, then await their acknowledgements; a publish that
        failed is retried alone (its Msg-Id makes that safe)."""
        stream = stream or self._stream
        futures: list[asyncio.Future[PubAck] | None] = []
        for subject, data, msg_id, headers in messages:
            try:
                futures.append(await self._acks.send(subject, data, _headers(msg_id, stream, headers)))
            except NatsError as exc:  # not even sent (connection closed): retried below
                log.warning("publish to %s not sent (%r); retrying with the same Msg-Id", subject, exc)
                futures.append(None)
        acks: list[PubAck] = []
        for index, ((subject, data, msg_id, headers), future) in enumerate(zip(messages, futures, strict=True)):
            try:
                ack = await future if future is not None else None
            except (TimeoutError, NatsError) as exc:
                log.warning("publish to %s not acknowledged (%r); retrying with the same Msg-Id", subject, exc)
                ack = None
            except asyncio.CancelledError:
                _forget(futures[index:])
                raise
            if ack is None:
                try:
                    ack = await self.publish_raw(subject, data, msg_id, headers, stream=stream)
                except BaseException:
                    _forget(futures[index + 1:])
                    raise
            acks.append(ack)
        return acks

    async def publish_raw(self, subject: str, data: bytes, msg_id: str, headers: dict[str, str] | None = None,
                          stream: str | None = None) -> PubAck:
        """One publish, retried with the same Msg-Id until acknowledged or the budget is spent."""
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.1
        while True:
            try:
                return await (await self._acks.send(subject, data, _headers(msg_id, stream or self._stream,
                                                                              headers)))
            except (TimeoutError, NatsError) as exc:
                if time.monotonic() + delay > deadline:
                    raise PublishFailed(f"publish to {subject} not acknowledged: {exc!r}") from exc
                log.warning("publish to %s not acknowledged (%r); retrying with the same Msg-Id", subject, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def append_atomic(self, events: Sequence[Event], expected: Expected) -> PubAck:
        """Append `events` all or none, only if nothing was stored on `expected.subjects` after
        `expected.last_seq` (JetStream atomic batch, nats-server 2.12+, the stream's `allow_atomic`).
        Raises AppendConflict if the log moved on; PublishFailed if it did not answer in time
        (the batch may or may not be stored: read again, then decide)."""
        batch = str(uuid.uuid4())
        last = len(events)
        future: asyncio.Future[PubAck] | None = None
        for number, event in enumerate(events, 1):
            headers = {"Nats-Batch-Id": batch, "Nats-Batch-Sequence": str(number)}
            if number == 1:
                headers |= {"Nats-Expected-Last-Subject-Sequence": str(expected.last_seq),
                            "Nats-Expected-Last-Subject-Sequence-Subject": expected.subjects}
            if number == last:
                headers["Nats-Batch-Commit"] = "1"
            headers = _headers(str(event.event_id), self._stream, headers)
            try:
                if number == last:
                    future = await self._acks.send(event.address, event.to_json(), headers)
                else:
                    await self._acks.nc.publish(event.address, event.to_json(), headers=headers)
            except NatsError as exc:
                raise PublishFailed(f"atomic append not sent: {exc!r}") from exc
        assert future is not None
        try:
            return await future
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                found = re.search(r"(\d+)\s*$", exc.description or "")
                raise AppendConflict(exc.description or "wrong last sequence",
                                     int(found.group(1)) if found else None) from exc
            if exc.err_code == DUPLICATE_IN_BATCH:
                raise AppendConflict(exc.description or "already stored") from exc
            raise PublishFailed(f"atomic append refused: {exc.description}") from exc
        except (TimeoutError, NatsError) as exc:
            raise PublishFailed(f"atomic append not acknowledged: {exc!r}") from exc

    def close(self) -> None:
        """Stop the acknowledgement sweeper (the connection's owner closes the connection)."""
        self._acks.close()


def _headers(msg_id: str, stream: str, extra: dict[str, str] | None) -> dict[str, str]:
    return {"Nats-Msg-Id": msg_id, "Nats-Expected-Stream": stream, **(extra or {})}


def _forget(futures: Sequence[asyncio.Future[PubAck] | None]) -> None:
    """Retrieve what the caller will not await, so nothing is reported as never retrieved."""
    for future in futures:
        if future is None:
            continue
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            with contextlib.suppress(BaseException):
                future.exception()
