"""Reads the event log in stream order and hands decoded batches to a sink that keeps its
own position (a projection: rows and position in one database transaction).

The sink is the source of truth for the position, never the consumer: at start and after
any error the reader asks the sink for its position and creates a fresh ephemeral pull
consumer starting right after it (no acks, nothing kept on the server), so a lost consumer,
a NATS restart or a second instance never makes it skip or double an event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from desk_shared.contracts import subjects
from desk_shared.contracts.envelope import Event, UndecodableEvent, UnknownEventType, decode_event
from desk_shared.runtime.bus import connect
from desk_shared.runtime.dead_letters import DeadLetters
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

log = logging.getLogger(__name__)

T = TypeVar("T")
INACTIVE_THRESHOLD_SECONDS = 30.0
RETRY_SECONDS = 1.0
CONSUMER_CHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message of the log: its stream sequence and the event, or None when there is
    nothing to apply (a type this reader does not know, a dead-lettered poison message)."""

    seq: int
    event: Event | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    position: int
    applied: int
    ignored: int


class PositionConflict(RuntimeError):
    """Another instance moved the sink's position first: the batch was not applied."""


class Sink(Protocol):
    """Where the reader's batches go. Synchronous: the reader runs it in a worker thread."""

    def position(self) -> int: ...

    def apply_batch(self, expected: int, batch: Sequence[Delivered]) -> BatchResult:
        """Apply what lies beyond `expected` and move the position, all or nothing."""
        ...


@dataclass
class ReadTotals:
    position: int = 0
    applied: int = 0
    ignored: int = 0
    dead_lettered: int = 0


class LogReader:
    """`dead_letter=False` (rebuilds) only logs poison messages: the live reader kept them."""

    def __init__(self, sink: Sink, bus: BusSettings, *, name: str, batch_size: int = 500,
                 fetch_timeout_seconds: float = 0.2, dead_letter: bool = True, client_name: str | None = None,
                 consumer_check_seconds: float = CONSUMER_CHECK_SECONDS) -> None:
        self._sink = sink
        self._name = name
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout_seconds
        self._bus = bus
        self._dead_letter = dead_letter
        self._client_name = client_name or f"desk-{name}"
        self._consumer_check_seconds = consumer_check_seconds
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._dead_letters: DeadLetters | None = None
        self._consumer_name: str | None = None
        self._unknown_types: set[str] = set()
        self.totals = ReadTotals()

    async def run(self, stop: asyncio.Event, stop_at: int | None = None) -> ReadTotals:
        """Project until `stop` is set, or until the position reaches `stop_at` (a stream sequence)."""
        try:
            while not stop.is_set():
                sub: JetStreamContext.PullSubscription | None = None
                pause = False
                try:
                    js = await self._jetstream(stop)
                    if js is None:
                        break
                    position = await asyncio.to_thread(self._sink.position)
                    self.totals.position = position
                    if stop_at is not None and position >= stop_at:
                        break
                    sub = await self._subscribe(js, position)
                    await self._consume(sub, position, stop, stop_at)
                    break
                except PositionConflict as exc:
                    log.warning("%s: position conflict (another replica applied this batch first), rolled back: %s; "
                                "continuing from the stored position", self._name, exc)
                except Exception as exc:
                    log.error("%s interrupted: %r; resuming from the stored position in %.0f s", self._name, exc,
                              RETRY_SECONDS, exc_info=not isinstance(exc, NatsError | TimeoutError | OSError))
                    pause = True
                finally:
                    await self._drop(sub)
                if pause:
                    await sleep_unless(stop, RETRY_SECONDS)
        finally:
            await self._close()
        return self.totals

    async def stream_last_sequence(self) -> int | None:
        """The log's last sequence, or None while NATS cannot be asked (for /health)."""
        js = self._js
        if js is None:
            return None
        try:
            info = await asyncio.wait_for(js.stream_info(self._bus.stream_name), 1.0)
        except Exception as exc:
            log.debug("stream info unavailable: %r", exc)
            return None
        return int(info.state.last_seq)

    async def _jetstream(self, stop: asyncio.Event) -> JetStreamContext | None:
        if self._nc is None or self._nc.is_closed:
            nc = await _unless_stopped(connect(self._bus, self._client_name), stop)
            if nc is None:
                return None
            self._nc = nc
            self._js = nc.jetstream()
            self._dead_letters = DeadLetters(EventPublisher(self._js, self._bus), self._bus, self._name)
            log.info("connected to NATS at %s", ", ".join(self._bus.servers))
        assert self._js is not None
        await ensure_streams(self._js, self._bus)
        return self._js

    async def _subscribe(self, js: JetStreamContext, position: int) -> JetStreamContext.PullSubscription:
        name = f"{self._name}-{uuid.uuid4().hex[:16]}"
        config = ConsumerConfig(
            name=name,
            description=f"Desk Pemilu {self._name} (ephemeral; its position is kept by the reader's sink)",
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=position + 1,
            ack_policy=AckPolicy.NONE,
            filter_subject=subjects.ALL_EVENTS,
            inactive_threshold=INACTIVE_THRESHOLD_SECONDS,
            mem_storage=True,
        )
        await js.add_consumer(self._bus.stream_name, config)
        self._consumer_name = name
        log.info("reading %s from sequence %d", self._bus.stream_name, position + 1)
        return await js.pull_subscribe_bind(consumer=name, stream=self._bus.stream_name)

    async def _consume(self, sub: JetStreamContext.PullSubscription, position: int, stop: asyncio.Event,
                       stop_at: int | None) -> None:
        busy = False
        checked = time.monotonic()
        while not stop.is_set():
            if stop_at is not None and position >= stop_at:
                return
            try:
                msgs = await sub.fetch(self._batch_size, timeout=self._fetch_timeout)
            except (TimeoutError, NatsTimeoutError):
                msgs = []
            if not msgs:
                if busy:
                    log.info("caught up at sequence %d", position)
                    busy = False
                if time.monotonic() - checked > self._consumer_check_seconds:
                    await self._verify_consumer()
                    checked = time.monotonic()
                continue
            batch = [await self._decode(msg) for msg in msgs]
            if stop_at is not None:
                batch = [d for d in batch if d.seq <= stop_at]
            result = await asyncio.to_thread(self._sink.apply_batch, position, batch)
            position = result.position
            self.totals.position = position
            self.totals.applied += result.applied
            self.totals.ignored += result.ignored
            busy = True

    async def _verify_consumer(self) -> None:
        """An idle fetch looks the same whether the log is quiet or the consumer is gone (a NATS
        restart loses an in-memory consumer): ask, and let a NotFoundError recreate it."""
        if self._js is not None and self._consumer_name:
            await self._js.consumer_info(self._bus.stream_name, self._consumer_name, timeout=2.0)

    async def _decode(self, msg: Msg) -> Delivered:
        seq = msg.metadata.sequence.stream
        try:
            return Delivered(seq, decode_event(msg.data))
        except UnknownEventType as exc:
            if str(exc) not in self._unknown_types:
                self._unknown_types.add(str(exc))
                log.info("skipping events of unknown type %s (first at seq %d)", exc, seq)
        except UndecodableEvent as exc:
            if self._dead_letter and self._dead_letters is not None:
                await self._dead_letters.put(msg, f"undecodable: {exc}")
                self.totals.dead_lettered += 1
            else:
                log.warning("skipping undecodable message at seq %d: %s", seq, exc)
        return Delivered(seq, None)

    async def _drop(self, sub: JetStreamContext.PullSubscription | None) -> None:
        if sub is None:
            return
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        name, self._consumer_name = self._consumer_name, None
        if self._js is not None and name:  # the server would remove it after the inactive threshold anyway
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._js.delete_consumer(self._bus.stream_name, name), 1.0)

    async def _close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 2.0)


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """Await `work` unless `stop` is set first (then cancel it and return None)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None
