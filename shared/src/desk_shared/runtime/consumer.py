"""Durable consumers with typed handlers: the runtime every service with effects runs on.

A handler receives a decoded event and its `Delivery` and returns the events it derived;
it never sees a NATS message. The runtime owns the rest:
- fetches a batch and works on it concurrently, keeping the log order of events with the
  same order key (by default the correlation id: one report's chain);
- publishes each input's derived events (pipelined) and acks the input only after they
  are acknowledged;
- keeps every message of the batch alive (`in_progress`) while work runs;
- retries a failed input with exponential back-off (`nak(delay)`), and dead-letters it after
  `max_deliver` deliveries, whatever used them up (handler errors, crashes, ack-wait
  expiry: the limit is counted here, so JetStream never silently stops redelivering);
- dead-letters poison (undecodable bytes, or a handler raising `Poison`) at once;
- acks events it has no handler for;
- records the position it has finished (`positions`), so a consumer that lost its
  server-side state is recreated right after it, never from sequence 1.

Why not FastStream's subscriber here: its NATS default terminates a message whose handler
raised (a database outage would drop events), and a subscriber whose consumer vanished
idles silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError

from desk_shared.contracts.envelope import Event, UndecodableEvent, UnknownEventType, decode_event
from desk_shared.runtime.bus import connect
from desk_shared.runtime.dead_letters import DeadLetters
from desk_shared.runtime.positions import Position, PositionStore, fingerprint
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


class Poison(Exception):
    """The input can never be processed (invalid in a way no retry mends): dead-letter it now."""


class RetryLater(Exception):
    """Expected, passing trouble (a liaison's channel down): retry with back-off, logged quietly."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler may know about the message that brought its event."""

    seq: int
    """The event's stream sequence (its position in the log)."""
    attempt: int
    """1 on the first delivery."""


Handler = Callable[[Any, Delivery], Awaitable[Sequence[Event]]]


class Routes:
    """Which handler takes which event type; the consumer's filter comes from these types."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._subjects: list[str] = []

    def on(self, kind: type[E], handler: Callable[[E, Delivery], Awaitable[Sequence[Event]]]) -> Routes:
        self._handlers[kind.event_type] = handler
        self._subjects.append(kind.subject_filter)
        return self

    def handler_for(self, event: Event) -> Handler | None:
        return self._handlers.get(event.event_type)

    @property
    def filter_subjects(self) -> list[str]:
        return list(self._subjects)


def by_correlation(event: Event) -> Hashable:
    return event.correlation_id


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    max_deliver: int = 10
    """Deliveries before an input is dead-letterd (counted by the runtime, not by JetStream)."""
    ack_wait_seconds: float = 30.0
    batch: int = 256
    """Messages asked for in one fetch."""
    max_in_flight: int = 1024
    """Messages being worked on at once (fetching pauses at this many)."""
    max_ack_pending: int = 10_000
    first_retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    fetch_timeout_seconds: float = 1.0
    position_interval_seconds: float = 1.0
    """How often, at most, the finished position is recorded while busy (always when idle and at stop)."""
    stop_grace_seconds: float = 8.0
    """At stop, how long work in flight may take to finish before it is left for redelivery."""
    order_key: Callable[[Event], Hashable] = by_correlation
    """Events with equal keys are handled one after the other, in log order."""

    def retry_delay(self, attempt: int) -> float:
        """Exponential back-off, capped, with jitter (between 3/4 and all of it), so inputs that
        failed together (a channel down) are not all retried at the same instant."""
        ceiling = min(self.first_retry_delay * 2 ** max(attempt - 1, 0), self.max_retry_delay)
        return ceiling * (0.75 + random.random() / 4)

    def config(self, filter_subjects: list[str], start_after: int) -> ConsumerConfig:
        subjects = {"filter_subject": filter_subjects[0]} if len(filter_subjects) == 1 else {
            "filter_subjects": filter_subjects}
        start: dict[str, Any] = {"deliver_policy": DeliverPolicy.ALL} if start_after <= 0 else {
            "deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": start_after + 1}
        return ConsumerConfig(name=self.name, durable_name=self.name, ack_policy=AckPolicy.EXPLICIT,
                              ack_wait=self.ack_wait_seconds, max_deliver=-1, max_ack_pending=self.max_ack_pending,
                              **subjects, **start)


@dataclass
class _Item:
    msg: Msg
    event: Event | None = None
    poison: str | None = None


@dataclass
class _Work:
    """The messages in flight, and per order key the task that settles its latest one."""

    unsettled: dict[int, Msg] = field(default_factory=dict)
    tails: dict[Hashable, asyncio.Task[bool]] = field(default_factory=dict)


@dataclass
class _State:
    """What this process knows about its consumer between batches."""

    recorded: int = 0
    recorded_at: float = 0.0
    settled: int = 0
    """The highest stream sequence this process has settled (acked, nak'ed or dead-lettered)."""
    dirty: bool = False
    """A recorded position may be behind what is settled: record again when next idle."""
    ignored_types: set[str] = field(default_factory=set)


class DurableConsumer:
    def __init__(self, js: JetStreamContext, settings: BusSettings, spec: ConsumerSpec, routes: Routes,
                 publisher: EventPublisher, dead_letters: DeadLetters, positions: PositionStore | None = None) -> None:
        self._js = js
        self._settings = settings
        self._spec = spec
        self._routes = routes
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._positions_store = positions
        self._state = _State()
        self._work = _Work()

    async def _positions(self) -> PositionStore:
        if self._positions_store is None:  # opened here, inside the retry loop: NATS may be starting
            self._positions_store = await PositionStore.open(self._js, self._settings)
        return self._positions_store

    # ------------------------------------------------------------------ consumer and position
    async def ensure(self) -> ConsumerInfo:
        """Verify the streams and this consumer; create what is missing, after the tracked position."""
        await ensure_streams(self._js, self._settings)
        name, stream = self._spec.name, self._settings.stream_name
        try:
            info = await self._js.consumer_info(stream, name)
        except NotFoundError:
            start = await self._start_after()
            info = await self._js.add_consumer(stream, self._spec.config(self._routes.filter_subjects, start))
            log.log(logging.WARNING if start else logging.INFO, "consumer %s on %s was missing: created, starting "
                    "at sequence %d%s", name, stream, start + 1, " (after its tracked position)" if start else "")
            return info
        wanted = self._spec.config(self._routes.filter_subjects, 0)
        have = info.config
        if ((have.filter_subjects or [have.filter_subject]) != self._routes.filter_subjects
                or (have.ack_wait, have.max_deliver, have.max_ack_pending)
                != (wanted.ack_wait, wanted.max_deliver, wanted.max_ack_pending)):
            wanted.deliver_policy, wanted.opt_start_seq = have.deliver_policy, have.opt_start_seq
            info = await self._js.add_consumer(stream, wanted)
            log.warning("consumer %s on %s updated to its current definition", name, stream)
        return info

    async def _start_after(self) -> int:
        """Where a recreated consumer starts: after its tracked position, if the log is the one
        that position refers to (it holds the same message there); else from the log's start."""
        tracked = await (await self._positions()).get(self._spec.name)
        if tracked is None:
            return 0
        found = await fingerprint(self._js, self._settings.stream_name, tracked.seq)
        if found != tracked.fingerprint:
            log.error("consumer %s: the log holds %s at its tracked position %d: it is not the log that position "
                      "was recorded in (the stream was replaced); consuming it from its start", self._spec.name,
                      "another message" if found else "no message", tracked.seq)
            return 0
        self._state.recorded = tracked.seq
        return tracked.seq

    async def record_position(self) -> None:
        """Record the consumer's ack floor: every message at or below it is finished."""
        info = await self._js.consumer_info(self._settings.stream_name, self._spec.name)
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        self._state.recorded_at = time.monotonic()
        self._state.dirty = floor < self._state.settled  # JetStream applies acks asynchronously: it may lag
        if floor > self._state.recorded:
            digest = await fingerprint(self._js, self._settings.stream_name, floor)
            if digest is not None:
                await (await self._positions()).advance(self._spec.name, Position(floor, digest))
            self._state.recorded = floor

    # ------------------------------------------------------------------ the loop
    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and work until `stop`; then fetch no more, let the work in flight finish (or
        leave it unacked after `stop_grace_seconds`, for redelivery) and record the position."""
        sub: JetStreamContext.PullSubscription | None = None
        alive = asyncio.create_task(self._keep_alive())
        try:
            while not stop.is_set():
                try:
                    if sub is None:
                        await self.ensure()
                        sub = await self._js.pull_subscribe_bind(self._spec.name, self._settings.stream_name)
                    await self._fetch_and_dispatch(sub)
                except Exception as exc:  # consumer or stream gone, NATS away: verify; redelivery does the rest
                    log.error("consumer %s: %r; verifying stream and consumer in 1 s", self._spec.name, exc)
                    sub = await _drop(sub)
                    await sleep_unless(stop, 1.0)
            await self._finish_in_flight()
        finally:
            alive.cancel()
            with contextlib.suppress(Exception):
                await self.record_position()
            await _drop(sub)

    async def _fetch_and_dispatch(self, sub: JetStreamContext.PullSubscription) -> None:
        free = self._spec.max_in_flight - len(self._work.unsettled)
        if free <= 0:  # wait for work to finish before taking more
            await asyncio.wait(set(self._work.tails.values()), timeout=self._spec.fetch_timeout_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
            return
        try:
            msgs = await sub.fetch(min(self._spec.batch, free), timeout=self._spec.fetch_timeout_seconds)
        except (TimeoutError, NatsTimeoutError):
            await self._idle()
            return
        for msg in msgs:
            self._dispatch(msg)
        if time.monotonic() - self._state.recorded_at > self._spec.position_interval_seconds:
            await self.record_position()

    async def _idle(self) -> None:
        """Nothing arrived: record a position still unrecorded, and make sure the consumer exists
        (an idle fetch looks the same whether the log is quiet or the consumer is gone)."""
        if self._state.dirty or time.monotonic() - self._state.recorded_at > 5.0:
            await self.record_position()

    def _dispatch(self, msg: Msg) -> None:
        """Start work on `msg` at once, after the work on earlier events of its order key."""
        item = self._decode(msg)
        key = self._spec.order_key(item.event) if item.event is not None else ("seq", id(msg))
        self._work.unsettled[id(msg)] = msg
        before = self._work.tails.get(key)
        task = asyncio.create_task(self._settle_after(before, item))
        self._work.tails[key] = task

        def done(finished: asyncio.Task[bool]) -> None:
            self._work.unsettled.pop(id(msg), None)
            if self._work.tails.get(key) is finished:
                del self._work.tails[key]
            self._state.settled = max(self._state.settled, msg.metadata.sequence.stream)
            self._state.dirty = True

        task.add_done_callback(done)

    async def _settle_after(self, before: asyncio.Task[bool] | None, item: _Item) -> bool:
        """Settle `item` once `before` is done; if `before` was left for a retry, this one waits too,
        so events of one key are never handled out of log order."""
        if before is not None and not await _outcome(before):
            await item.msg.nak(delay=self._spec.first_retry_delay)
            return False
        return await self._settle(item)

    async def _finish_in_flight(self) -> None:
        tasks = set(self._work.tails.values())
        if tasks:
            log.info("%s: stopping; letting %d event(s) in flight finish", self._spec.name, len(self._work.unsettled))
            _, late = await asyncio.wait(tasks, timeout=self._spec.stop_grace_seconds)
            for task in late:  # left unacked: JetStream redelivers them after the ack wait
                task.cancel()

    def _decode(self, msg: Msg) -> _Item:
        try:
            return _Item(msg, decode_event(msg.data))
        except UndecodableEvent as exc:
            return _Item(msg, poison=f"poison: undecodable: {exc}")
        except UnknownEventType as exc:
            self._note_ignored(str(exc), msg)
            return _Item(msg)

    def _note_ignored(self, event_type: str, msg: Msg) -> None:
        if event_type not in self._state.ignored_types:
            self._state.ignored_types.add(event_type)
            log.info("%s: ignoring events of type %s (first at seq %d)", self._spec.name, event_type,
                     msg.metadata.sequence.stream)

    async def _keep_alive(self) -> None:
        """Tell JetStream every message in flight is being worked on, so none is redelivered meanwhile."""
        interval = self._spec.ack_wait_seconds / 3
        while True:
            await asyncio.sleep(interval)
            for msg in list(self._work.unsettled.values()):
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _settle(self, item: _Item) -> bool:
        """Handle one input to the end; False when it was left for a retry."""
        msg = item.msg
        attempt = msg.metadata.num_delivered
        if attempt > self._spec.max_deliver:
            return await self._give_up(msg, f"delivered {attempt} times without being finished "
                                            "(handler errors, crashes or ack-wait timeouts)")
        if item.poison is not None:
            return await self._give_up(msg, item.poison)
        handler = self._routes.handler_for(item.event) if item.event is not None else None
        if item.event is None or handler is None:
            if item.event is not None:
                self._note_ignored(item.event.event_type, msg)
            await msg.ack()
            return True
        try:
            derived = await handler(item.event, Delivery(seq=msg.metadata.sequence.stream, attempt=attempt))
            if derived:
                await self._publisher.publish_all(derived)
        except Poison as exc:
            return await self._give_up(msg, f"poison: {exc}")
        except Exception as exc:
            if attempt >= self._spec.max_deliver:
                return await self._give_up(msg, f"failed {attempt} times, last: {exc!r}")
            delay = self._spec.retry_delay(attempt)
            log.log(logging.INFO if isinstance(exc, RetryLater) else logging.WARNING,
                    "%s: attempt %d of seq %s failed (%s); retry in %.1f s", self._spec.name, attempt,
                    msg.metadata.sequence.stream, exc if isinstance(exc, RetryLater) else repr(exc), delay)
            await msg.nak(delay=delay)
            return False
        await msg.ack()
        return True

    async def _give_up(self, msg: Msg, reason: str) -> bool:
        try:
            await self._dead_letters.put(msg, reason)
        except Exception as exc:  # keep it in the consumer rather than lose it
            log.error("%s: could not dead-letter seq %s (%r); will retry", self._spec.name,
                      msg.metadata.sequence.stream, exc)
            await msg.nak(delay=self._spec.max_retry_delay)
            return False
        await msg.term()
        return True


async def _outcome(task: asyncio.Task[bool]) -> bool:
    try:
        return await asyncio.shield(task)
    except Exception:
        return False


async def _drop(sub: JetStreamContext.PullSubscription | None) -> None:
    if sub is not None:
        try:
            await sub.unsubscribe()
        except Exception as exc:
            log.debug("unsubscribe failed: %r", exc)
    return None


async def consume(bus: BusSettings, spec: ConsumerSpec, routes: Routes, stop: asyncio.Event) -> None:
    """Connect, run the durable consumer `spec` with `routes` until `stop`, then drain."""
    nc = await connect(bus, f"desk-{spec.name}")
    try:
        js = nc.jetstream()
        publisher = EventPublisher(js, bus)
        consumer = DurableConsumer(js, bus, spec, routes, publisher, DeadLetters(publisher, bus, spec.name))
        await consumer.run(stop)
        log.info("%s stopping", spec.name)
        publisher.close()
    finally:
        if not nc.is_closed:
            await nc.drain()
