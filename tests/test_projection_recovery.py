"""The projection as a real process on a real nats-server: killed mid-stream it resumes without
losing or doubling anything, a rebuild from sequence 1 gives identical rows, and a poison
message goes to the dead-letter stream without blocking it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_projection.tables import checkpoints, incidents, reports, timeline
from desk_shared.contracts.events import Event, ReportSubmitted
from desk_shared.runtime.bus import connect
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples
from desk_testing.fixtures import assert_projected_exactly, assert_rebuild_matches, row_count

pytestmark = pytest.mark.system

REPORTS = 900
CHUNK = 300


def publish(bus: BusSettings, events: list[Event], poison_after: int | None = None) -> int:
    """Publish concurrently in chunks; returns the stream's last sequence."""
    return asyncio.run(samples.publish_log(bus, events, chunk=CHUNK, poison_after=poison_after))


def env_for(bus: BusSettings, database_url: str, port: int) -> dict[str, str]:
    return {"DESK_NATS_URL": bus.nats_url, "DESK_STREAM_NAME": bus.stream_name,
            "DESK_DEAD_LETTER_STREAM_NAME": bus.dead_letter_stream_name, "DESK_LOG_LEVEL": "INFO",
            "DESK_PROJECTION_DATABASE_URL": database_url, "DESK_PROJECTION_PORT": str(port),
            "DESK_PROJECTION_BATCH_SIZE": "50"}


def position(engine: Engine) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(checkpoints.c.position))).scalar() or 0)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # not migrated yet
        return 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def timeline_types(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter({t: n for t, n in conn.execute(
            sa.select(timeline.c.event_type, sa.func.count()).group_by(timeline.c.event_type))})


def test_killed_mid_stream_it_resumes_and_a_rebuild_matches(bus: BusSettings, database_url: str,
                                                           second_database_url: str, tmp_path: Path) -> None:
    events = samples.sample_log(REPORTS)
    published = Counter(e.event_type for e in events)
    last = publish(bus, events)
    assert last == len(events)
    live = sa.create_engine(database_url)
    port = free_port()
    env = env_for(bus, database_url, port)

    first = ServiceProcess("projection", service_command("desk_projection"), env, tmp_path / "first.log").start()
    try:
        wait_for(lambda: position(live) > 0, 30, "the first batch")
        first.kill()
    finally:
        first.kill()
    at_kill = position(live)
    assert 0 < at_kill < last, f"not killed mid-stream (checkpoint {at_kill} of {last})\n{first.output()}"
    # What was committed is whole: one timeline row per event up to the checkpoint, rows to match.
    assert row_count(live, timeline) == at_kill
    seen = timeline_types(live)
    assert row_count(live, reports) == seen["ReportSubmitted"]
    assert row_count(live, incidents) == seen["ReportTriaged"]

    second = ServiceProcess("projection", service_command("desk_projection"), env, tmp_path / "second.log").start()
    try:
        wait_for(lambda: position(live) == last, 30, "the restarted projection to catch up", 0.05)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert (health["position"], health["stream_last_sequence"], health["lag"]) == (last, last, 0)
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/incidents", params={"limit": 1}, timeout=5).json()
        assert listed["total"] == REPORTS
        started = time.monotonic()
        assert second.stop(timeout=10) == 0, second.output()
        assert time.monotonic() - started < 5
    finally:
        second.kill()
    assert "projection API listening on http://" in second.output()
    assert "reading DESK_EVENTS from sequence" in second.output()

    assert_rebuild_matches(live, second_database_url, env, len(events))
    assert_projected_exactly(live, published, REPORTS)
    live.dispose()


def test_a_poison_message_is_dead_lettered_and_passed(bus: BusSettings, database_url: str, tmp_path: Path) -> None:
    events = samples.sample_log(40)
    last = publish(bus, events, poison_after=20)
    assert last == len(events) + 1
    engine = sa.create_engine(database_url)
    projection = ServiceProcess("projection", service_command("desk_projection"),
                                env_for(bus, database_url, free_port()), tmp_path / "projection.log").start()
    try:
        wait_for(lambda: position(engine) == last, 30, "the projection to pass the poison message", 0.05)
        assert projection.stop(timeout=10) == 0
    finally:
        projection.kill()
    assert row_count(engine, timeline) == len(events)
    assert row_count(engine, reports) == 40
    engine.dispose()

    letter = asyncio.run(_first_dead_letter(bus))
    assert letter.data == samples.POISON
    assert letter.headers is not None
    assert letter.headers["Desk-Consumer"] == "projection"
    assert letter.headers["Desk-Source"] == f"{bus.stream_name}:21"
    assert letter.headers["Desk-Source-Subject"] == ReportSubmitted.subject
    assert "not JSON" in letter.headers["Desk-Dead-Letter-Reason"]
    assert "dead-lettered" in projection.output()


async def _first_dead_letter(bus: BusSettings) -> Any:
    nc = await connect(bus, "test-dead-letters")
    try:
        js = nc.jetstream()
        info = await js.stream_info(bus.dead_letter_stream_name)
        assert info.state.messages == 1
        return await js.get_msg(bus.dead_letter_stream_name, info.state.first_seq)
    finally:
        await nc.close()
