"""The reader against a real nats-server: order, unknown types, poison messages, stopping."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_projection.bootstrap import log_reader
from desk_projection.projector import Projector
from desk_projection.settings import ProjectionSettings
from desk_projection.tables import incidents, reports, skipped_events, timeline
from desk_shared.contracts import subjects
from desk_shared.contracts.events import ReportSubmitted
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing import samples

REPORTS = 60


async def publish_log(bus: BusSettings) -> tuple[int, int]:
    """The sample log with one event of an unknown type and one poison message in it:
    returns (last sequence, events published)."""
    nc = await connect(bus, "test-publisher")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    publisher = EventPublisher(js, bus)
    events = samples.sample_log(REPORTS)
    half = len(events) // 2
    for event in events[:half]:
        await publisher.publish(event)
    future = {"type": "IncidentClosed", "event_id": "later", "payload": {}}
    await publisher.publish_raw(f"{subjects.EVENTS_ROOT}.incident.closed", json.dumps(future).encode(), "future-1")
    await publisher.publish_raw(ReportSubmitted.subject, b"{not json", "poison-1")
    await publisher.publish_all(events[half:])
    last = (await js.stream_info(bus.stream_name)).state.last_seq
    await nc.close()
    return last, len(events)


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


async def dead_letters(bus: BusSettings) -> list[dict[str, str]]:
    nc = await connect(bus, "test-dlq")
    js = nc.jetstream()
    info = await js.stream_info(bus.dead_letter_stream_name)
    found = []
    for seq in range(1, info.state.last_seq + 1):
        msg = await js.get_msg(bus.dead_letter_stream_name, seq)
        found.append({**(msg.headers or {}), "data": (msg.data or b"").decode()})
    await nc.close()
    return found


async def test_reads_past_unknown_and_poison_messages(engine: Engine, bus: BusSettings) -> None:
    last, published = await publish_log(bus)
    settings = ProjectionSettings(batch_size=25)
    reader = log_reader(Projector(engine), settings, bus)
    totals = await asyncio.wait_for(reader.run(asyncio.Event(), stop_at=last), 30)
    assert (totals.position, totals.applied, totals.ignored, totals.skipped, totals.dead_lettered) == (
        last, published, 1, 1, 1)
    assert count(engine, timeline) == published
    with engine.connect() as conn:
        [skipped] = conn.execute(sa.select(skipped_events)).all()
    assert (skipped.subject, skipped.event_type, skipped.event_id) == (ReportSubmitted.subject, None, None)
    assert skipped.reason.startswith("undecodable: not JSON")
    assert (count(engine, reports), count(engine, incidents)) == (REPORTS, REPORTS)
    [letter] = await dead_letters(bus)
    assert letter["data"] == "{not json"
    assert letter["Desk-Consumer"] == "projection"
    assert letter["Desk-Source-Subject"] == ReportSubmitted.subject
    assert letter["Desk-Dead-Letter-Reason"].startswith("undecodable")

    again = log_reader(Projector(engine), settings, bus)  # resumes from the stored position: nothing to do
    assert (await asyncio.wait_for(again.run(asyncio.Event(), stop_at=last), 10)).applied == 0


async def test_stops_promptly(engine: Engine, bus: BusSettings) -> None:
    last, _ = await publish_log(bus)
    stop = asyncio.Event()
    reader = log_reader(Projector(engine), ProjectionSettings(), bus)
    running = asyncio.create_task(reader.run(stop))
    await wait_until(lambda: reader.totals.position >= last)
    assert reader.totals.position == last
    assert await reader.stream_last_sequence() == last
    stop.set()
    started = time.monotonic()
    await asyncio.wait_for(running, 3)
    assert time.monotonic() - started < 1.5


async def test_a_lost_consumer_is_recreated_from_the_stored_position(engine: Engine, bus: BusSettings) -> None:
    """A NATS restart loses the in-memory ephemeral consumer; the reader must notice on its own."""
    last, _ = await publish_log(bus)
    stop = asyncio.Event()
    reader = log_reader(Projector(engine), ProjectionSettings(), bus, consumer_check_seconds=0.3)
    running = asyncio.create_task(reader.run(stop))
    try:
        await wait_until(lambda: reader.totals.position >= last)
        nc = await connect(bus, "test-admin")
        js = nc.jetstream()
        for consumer in await js.consumers_info(bus.stream_name):
            await js.delete_consumer(bus.stream_name, consumer.name)
        more = [e for n in range(REPORTS, REPORTS + 5) for e in samples.incident_story(n)]
        await EventPublisher(js, bus).publish_all(more)
        await nc.close()
        await wait_until(lambda: reader.totals.position >= last + len(more))
        assert count(engine, timeline) == last - 2 + len(more)
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)


async def wait_until(condition: Callable[[], bool], seconds: float = 15) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")
