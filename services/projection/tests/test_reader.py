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
from desk_projection.tables import checkpoints, incidents, reports, skipped_events, timeline
from desk_shared.contracts import subjects
from desk_shared.contracts.events import Event, ReportSubmitted
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
    future = {"type": "IncidentArchived", "event_id": "later", "payload": {}}
    await publisher.publish_raw(f"{subjects.EVENTS_ROOT}.incident.archived", json.dumps(future).encode(), "future-1")
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


def stories(first: int, last: int, alert_requests: bool = False) -> list[Event]:
    return [e for n in range(first, last) for e in samples.incident_story(n, alert_requests)]


async def test_an_event_that_cannot_be_applied_is_dead_lettered_and_recorded_as_skipped(
        engine: Engine, bus: BusSettings) -> None:
    bad = samples.unconvertible_report(5)
    events = [*stories(0, 5), bad, *stories(5, 12)[1:]]  # its triage follows it, as in the log
    last = await samples.publish_log(bus, events)
    bad_seq = events.index(bad) + 1
    settings = ProjectionSettings(batch_size=25, max_attempts=3, retry_delay_seconds=0.05)
    reader = log_reader(Projector(engine), settings, bus)
    running = asyncio.create_task(reader.run(asyncio.Event(), stop_at=last))
    await wait_until(lambda: reader.status().retrying is not None)
    assert reader.status().retrying.seq == bad_seq  # type: ignore[union-attr]
    totals = await asyncio.wait_for(running, 30)

    assert (totals.position, totals.applied, totals.skipped, totals.dead_lettered) == (last, last - 1, 1, 1)
    assert count(engine, timeline) == last - 1
    with engine.connect() as conn:
        [skipped] = conn.execute(sa.select(skipped_events)).all()
        triaged = conn.execute(sa.select(incidents.c.report_id).where(
            incidents.c.report_id == bad.payload.report_id)).all()
    assert (skipped.stream_seq, skipped.event_type, skipped.event_id) == (bad_seq, "ReportSubmitted", bad.event_id)
    assert "not applied after 3 attempts" in skipped.reason and "OverflowError" in skipped.reason
    assert len(triaged) == 1  # the events after it were applied, its triage included
    [letter] = await dead_letters(bus)
    assert letter["Desk-Source"] == f"{bus.stream_name}:{bad_seq}"
    assert json.loads(letter["data"])["payload"]["occurred_at"] == "0001-01-01T00:00:00+14:00"


async def test_a_value_the_database_refuses_is_found_in_its_batch_and_skipped(
        engine: Engine, bus: BusSettings, database_url: str) -> None:
    """PostgreSQL stores no NUL character in text; SQLite does. On PostgreSQL the batch fails as a
    whole, is halved until the event is alone, and only that event is skipped."""
    nul = samples.report_submitted(3, text="laporan dengan \x00 di dalamnya")
    events = [*stories(0, 3), nul, *stories(3, 9)[1:]]
    last = await samples.publish_log(bus, events)
    settings = ProjectionSettings(batch_size=30, max_attempts=2, retry_delay_seconds=0.05)
    totals = await asyncio.wait_for(log_reader(Projector(engine), settings, bus).run(asyncio.Event(), stop_at=last), 30)
    assert totals.position == last
    if database_url.startswith("postgresql"):
        assert (totals.applied, totals.skipped) == (last - 1, 1)
        with engine.connect() as conn:
            reason = conn.execute(sa.select(skipped_events.c.reason)).scalar_one()
        assert "refused by the database" in reason and "DataError" in reason
    else:
        assert (totals.applied, totals.skipped) == (last, 0)
    assert count(engine, timeline) == totals.applied


async def test_alert_requests_are_in_the_incident_timeline(engine: Engine, bus: BusSettings) -> None:
    events = samples.sample_log(8, alert_requests=True)
    last = await samples.publish_log(bus, events)
    await asyncio.wait_for(log_reader(Projector(engine), ProjectionSettings(), bus).run(
        asyncio.Event(), stop_at=last), 30)
    requests = [e for e in events if e.event_type == "AlertRequested"]
    assert requests
    with engine.connect() as conn:
        rows = conn.execute(sa.select(timeline).where(timeline.c.event_type == "AlertRequested")
                            .order_by(timeline.c.stream_seq)).all()
        counted = conn.execute(sa.select(sa.func.sum(incidents.c.alerts_delivered),
                                         sa.func.sum(incidents.c.alerts_failed))).one()
    assert [r.event_id for r in rows] == [e.event_id for e in requests]
    for row, request in zip(rows, requests, strict=True):
        p = request.payload
        assert (row.incident_id, row.report_id) == (p.incident_id, p.incident.report_id)
        assert row.summary == {"alert_id": str(p.alert_id), "liaison_id": p.liaison.id,
                               "liaison_agency": p.liaison.agency, "liaison_unit": p.liaison.unit,
                               "message": p.message}
    assert tuple(counted) == (sum(e.event_type == "AlertDelivered" for e in events),
                              sum(e.event_type == "AlertFailed" for e in events))


async def test_a_replaced_log_is_not_applied(engine: Engine, bus: BusSettings) -> None:
    last = await samples.publish_log(bus, stories(0, 10))
    settings = ProjectionSettings(batch_size=25)
    await asyncio.wait_for(log_reader(Projector(engine), settings, bus).run(asyncio.Event(), stop_at=last), 30)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(checkpoints)).one()
    assert stored.position == last and stored.fingerprint

    nc = await connect(bus, "test-admin")
    await nc.jetstream().delete_stream(bus.stream_name)
    await nc.close()
    await samples.publish_log(bus, stories(50, 70))  # a new log, longer than the position
    stop = asyncio.Event()
    reader = log_reader(Projector(engine), settings, bus)
    running = asyncio.create_task(reader.run(stop))
    await wait_until(lambda: reader.status().halted is not None)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert "another message at this projection's position" in (reader.status().halted or "")
    assert count(engine, timeline) == last and reader.totals.applied == 0
