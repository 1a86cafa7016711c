"""The durable consumer runtime against a real nats-server: typed handlers, retries, dead
letters, order per key, heartbeats, tracked positions, a clean stop."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from desk_shared.contracts.events import Event, IncidentEscalated, ReportSubmitted, ReportTriaged
from desk_shared.runtime.bus import connect
from desk_shared.runtime.consumer import ConsumerSpec, Delivery, DurableConsumer, Poison, Routes
from desk_shared.runtime.dead_letters import DeadLetters
from desk_shared.runtime.positions import PositionStore
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing import samples
from desk_testing.fixtures import read_stream_async

SPEC = ConsumerSpec("test", max_deliver=3, first_retry_delay=0.1, max_retry_delay=0.2, ack_wait_seconds=5,
                    fetch_timeout_seconds=0.2)


@dataclass
class Harness:
    bus: BusSettings
    nc: Client
    js: JetStreamContext
    publisher: EventPublisher
    tasks: list[tuple[asyncio.Event, asyncio.Task[None]]] = field(default_factory=list)

    def consumer(self, routes: Routes, spec: ConsumerSpec = SPEC) -> DurableConsumer:
        return DurableConsumer(self.js, self.bus, spec, routes, self.publisher,
                               DeadLetters(self.publisher, self.bus, spec.name))

    def start(self, routes: Routes, spec: ConsumerSpec = SPEC) -> asyncio.Event:
        stop = asyncio.Event()
        self.tasks.append((stop, asyncio.create_task(self.consumer(routes, spec).run(stop))))
        return stop

    async def stop_all(self) -> None:
        for stop, task in self.tasks:
            stop.set()
            await asyncio.wait_for(task, 15)
        self.tasks.clear()

    async def publish(self, events: Sequence[Event]) -> None:
        await self.publisher.publish_all(events)

    async def log(self, event_type: str | None = None) -> list[dict]:
        found = [json.loads(data) for _, _, data in await read_stream_async(self.bus, self.bus.stream_name)]
        return [e for e in found if event_type is None or e["type"] == event_type]


@pytest.fixture
async def harness(bus: BusSettings) -> AsyncIterator[Harness]:
    nc = await connect(bus, "test")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    running = Harness(bus, nc, js, EventPublisher(js, bus))
    yield running
    await running.stop_all()
    await nc.close()


async def until(condition: Callable[[], object], seconds: float = 15.0) -> None:
    """Poll `condition` (a function, or one returning an awaitable) until it is truthy."""
    async with asyncio.timeout(seconds):
        while True:
            found = condition()
            if inspect.isawaitable(found):
                found = await found
            if found:
                return
            await asyncio.sleep(0.05)


def reports(n: int, start: int = 0) -> list[ReportSubmitted]:
    return [samples.report_submitted(i) for i in range(start, start + n)]


def triage_of(event: ReportSubmitted) -> ReportTriaged:
    return samples.report_triaged(event, 0)


async def test_a_handler_gets_decoded_events_and_its_events_are_published_before_the_ack(harness: Harness) -> None:
    seen: list[tuple[ReportSubmitted, Delivery]] = []

    async def handler(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        seen.append((event, delivery))
        return [triage_of(event)]

    inputs = reports(5)
    await harness.publish(inputs)
    harness.start(Routes().on(ReportSubmitted, handler))
    await until(lambda: len(seen) == 5)
    await harness.stop_all()
    assert sorted(e.event_id for e, _ in seen) == sorted(e.event_id for e in inputs)
    assert all(isinstance(e, ReportSubmitted) and d.attempt == 1 for e, d in seen)
    assert sorted(d.seq for _, d in seen) == [1, 2, 3, 4, 5]
    triaged = await harness.log("ReportTriaged")
    assert sorted(t["causation_id"] for t in triaged) == sorted(str(e.event_id) for e in inputs)
    info = await harness.js.consumer_info(harness.bus.stream_name, SPEC.name)
    assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (0, 0, 0)


async def test_failures_are_retried_with_backoff_then_dead_lettered_and_poison_at_once(harness: Harness) -> None:
    flaky, broken, refused, fine = reports(4)
    attempts: dict[str, list[int]] = {}

    async def handler(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        attempts.setdefault(event.payload.text, []).append(delivery.attempt)
        if event.event_id == flaky.event_id and delivery.attempt < 3:
            raise RuntimeError("database down")
        if event.event_id == broken.event_id:
            raise RuntimeError("always")
        if event.event_id == refused.event_id:
            raise Poison("no such kecamatan")
        return []

    await harness.publish([flaky, broken, refused, fine])
    await harness.publisher.publish_raw(ReportSubmitted.subject, b"{not json", "poison-1")
    await harness.publisher.publish_raw(ReportSubmitted.subject, b'{"type": "SomethingNew"}', "new-1")
    harness.start(Routes().on(ReportSubmitted, handler))

    await until(lambda: len(attempts.get(broken.payload.text, [])) == 3 and len(attempts) == 4)
    await asyncio.sleep(0.5)
    await harness.stop_all()
    assert attempts[flaky.payload.text] == [1, 2, 3]
    assert attempts[broken.payload.text] == [1, 2, 3]
    assert attempts[refused.payload.text] == [1]
    assert attempts[fine.payload.text] == [1]
    dead = await read_stream_async(harness.bus, harness.bus.dead_letter_stream_name)
    assert sorted(data for _, _, data in dead) == sorted([broken.to_json(), refused.to_json(), b"{not json"])
    assert {subject for _, subject, _ in dead} == {"desk.deadletter.test"}
    info = await harness.js.consumer_info(harness.bus.stream_name, SPEC.name)
    assert (info.num_ack_pending, info.num_pending) == (0, 0)  # the unknown type was acked, not left behind


async def test_deliveries_used_up_by_crashes_are_dead_lettered_not_silently_dropped(harness: Harness) -> None:
    """A worker that takes a message and dies never acks; JetStream redelivers after the ack
    wait. Once the runtime sees more than max_deliver deliveries it dead-letters the message."""
    spec = ConsumerSpec("crashy", max_deliver=2, ack_wait_seconds=1, fetch_timeout_seconds=0.2)
    handled: list[int] = []

    async def handler(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        handled.append(delivery.attempt)
        return []

    [victim] = reports(1)
    await harness.publish([victim])
    await harness.consumer(Routes().on(ReportSubmitted, handler), spec).ensure()
    sub = await harness.js.pull_subscribe_bind(spec.name, harness.bus.stream_name)
    for _ in range(2):  # two workers that crash before acking
        [msg] = await sub.fetch(1, timeout=5)
        await asyncio.sleep(1.2)
    assert msg.metadata.num_delivered == 2
    await sub.unsubscribe()
    harness.start(Routes().on(ReportSubmitted, handler), spec)
    await until(lambda: _dead_count(harness), 10)
    await harness.stop_all()
    assert handled == []
    [(_, _, data)] = await read_stream_async(harness.bus, harness.bus.dead_letter_stream_name)
    assert data == victim.to_json()


async def _dead_count(harness: Harness) -> int:
    return (await harness.js.stream_info(harness.bus.dead_letter_stream_name)).state.messages


async def test_events_of_one_key_keep_their_order_while_others_run_concurrently(harness: Harness) -> None:
    running: set[str] = set()
    peak = 0
    order: dict[str, list[int]] = {}
    first = samples.report_submitted(0)
    chain = [first, triage_of(first), samples.incident_escalated(triage_of(first), first)]
    others = reports(8, start=1)

    async def slow(event: Event, delivery: Delivery) -> list[Event]:
        nonlocal peak
        key = str(event.correlation_id)
        assert key not in running, "two events of one key at once"
        running.add(key)
        peak = max(peak, len(running))
        order.setdefault(key, []).append(delivery.seq)
        await asyncio.sleep(0.2)
        running.discard(key)
        return []

    routes = Routes().on(ReportSubmitted, slow).on(ReportTriaged, slow).on(IncidentEscalated, slow)
    await harness.publish([chain[0], *others[:4], chain[1], *others[4:], chain[2]])
    harness.start(routes)
    await until(lambda: sum(len(v) for v in order.values()) == 11)
    await harness.stop_all()
    assert order[str(first.correlation_id)] == sorted(order[str(first.correlation_id)])
    assert len(order[str(first.correlation_id)]) == 3
    assert peak >= 5  # the other reports ran beside the chain


async def test_work_longer_than_the_ack_wait_is_kept_alive_not_redelivered(harness: Harness) -> None:
    spec = ConsumerSpec("patient", ack_wait_seconds=1.0, fetch_timeout_seconds=0.2)
    calls: list[int] = []

    async def slow(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        calls.append(delivery.attempt)
        await asyncio.sleep(3.0)
        return []

    await harness.publish(reports(2))
    harness.start(Routes().on(ReportSubmitted, slow), spec)
    await until(lambda: len(calls) == 2)
    await asyncio.sleep(3.5)
    await harness.stop_all()
    assert calls == [1, 1]
    info = await harness.js.consumer_info(harness.bus.stream_name, spec.name)
    assert (info.num_redelivered, info.num_ack_pending) == (0, 0)


async def test_a_recreated_consumer_resumes_after_its_tracked_position_not_from_one(harness: Harness) -> None:
    handled: list[int] = []

    async def handler(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        handled.append(delivery.seq)
        return [triage_of(event)]

    routes = Routes().on(ReportSubmitted, handler)
    first = reports(5)
    await harness.publish(first)
    harness.start(routes)
    await until(lambda: len(handled) == 5)
    await harness.stop_all()  # records the position at stop
    positions = await PositionStore.open(harness.js, harness.bus)
    tracked = await positions.get(SPEC.name)
    assert tracked is not None
    last_input = max(handled)
    assert tracked.seq >= last_input

    await harness.js.delete_consumer(harness.bus.stream_name, SPEC.name)  # an operator, a new server...
    await harness.publish(reports(2, start=5))
    harness.start(routes)
    await until(lambda: len(handled) == 7)
    await asyncio.sleep(0.5)
    await harness.stop_all()
    assert len(handled) == 7, handled  # the first five were not handled again
    assert len(await harness.log("ReportTriaged")) == 7


async def test_a_consumer_deleted_while_running_is_recreated_after_the_position(harness: Harness,
                                                                                caplog: pytest.LogCaptureFixture
                                                                                ) -> None:
    handled: list[int] = []

    async def handler(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        handled.append(delivery.seq)
        return []

    spec = ConsumerSpec("watchful", fetch_timeout_seconds=0.2, position_interval_seconds=0.1)
    await harness.publish(reports(3))
    harness.start(Routes().on(ReportSubmitted, handler), spec)
    await until(lambda: len(handled) == 3)
    await asyncio.sleep(0.5)  # idle: the position is recorded
    await harness.js.delete_consumer(harness.bus.stream_name, spec.name)
    await harness.publish(reports(1, start=3))
    await until(lambda: len(handled) == 4, 20)
    await harness.stop_all()
    assert sorted(handled) == [1, 2, 3, 4]
    assert "was missing: created, starting at sequence 4" in caplog.text


async def test_a_stop_lets_work_in_flight_finish_and_takes_no_more(harness: Harness) -> None:
    started: list[int] = []
    finished: list[int] = []

    async def slow(event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        started.append(delivery.seq)
        await asyncio.sleep(1.0)
        finished.append(delivery.seq)
        return [triage_of(event)]

    spec = ConsumerSpec("stopping", batch=3, max_in_flight=3, fetch_timeout_seconds=0.2)
    await harness.publish(reports(6))
    stop = harness.start(Routes().on(ReportSubmitted, slow), spec)
    await until(lambda: len(started) == 3)
    stop.set()
    await harness.stop_all()
    assert sorted(finished) == sorted(started) == [1, 2, 3]
    assert len(await harness.log("ReportTriaged")) == 3
    info = await harness.js.consumer_info(harness.bus.stream_name, spec.name)
    assert (info.num_ack_pending, info.num_pending) == (0, 3)  # the rest waits for the next start
