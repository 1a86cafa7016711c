"""The projection as a real process on a real nats-server: killed mid-stream it resumes without
losing or doubling anything, a rebuild from sequence 1 gives identical rows, a poison message
goes to the dead-letter stream without blocking it, an event it cannot apply is retried a
bounded number of times and then skipped, and a replaced log stops it."""

from __future__ import annotations

import asyncio
import os
import subprocess
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
from desk_testing.agencies import bearer
from desk_testing.fixtures import assert_projected_exactly, assert_rebuild_matches, row_count
from desk_testing.people import person_token

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
    events = samples.sample_log(REPORTS, alert_requests=True)
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
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/incidents", params={"limit": 1}, timeout=5,
                           headers=bearer(person_token(bus, "recovery-leader"))).json()
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


def health_of(port: int) -> dict[str, Any] | None:
    """/health's answer whatever its status code (503 when the projection stopped), None if it does not answer."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
    except httpx.HTTPError:
        return None


def test_an_event_it_cannot_apply_is_retried_then_dead_lettered_and_health_says_so(
        bus: BusSettings, database_url: str, second_database_url: str, tmp_path: Path) -> None:
    """An older intake let through an occurred_at no projection can store (0001-01-01T00:00:00+14:00):
    the projection retries it a bounded number of times, not "ok" meanwhile, then dead-letters it,
    records it as skipped, applies everything after it, and keeps saying it lacks one event."""
    bad = samples.unconvertible_report(20)
    events = [*samples.sample_log(20), bad, *[e for n in range(20, 40) for e in samples.incident_story(n)][1:]]
    bad_seq = events.index(bad) + 1
    last = publish(bus, events)
    port = free_port()
    env = env_for(bus, database_url, port) | {"DESK_PROJECTION_MAX_ATTEMPTS": "8",
                                              "DESK_PROJECTION_RETRY_DELAY_SECONDS": "0.4",
                                              "DESK_PROJECTION_MAX_RETRY_DELAY_SECONDS": "0.4"}
    live = sa.create_engine(database_url)
    projection = ServiceProcess("projection", service_command("desk_projection"), env, tmp_path / "p.log").start()
    try:
        seen: list[dict[str, Any]] = []

        def stuck() -> bool:
            answer = health_of(port)
            if answer and answer.get("retrying"):
                seen.append(answer)
            return bool(seen)

        wait_for(stuck, 30, "/health to say the projection is retrying", 0.05)
        assert seen[0]["status"] == "degraded" and seen[0]["retrying"]["seq"] == bad_seq
        assert seen[0]["retrying"]["max_attempts"] == 8 and "OverflowError" in seen[0]["retrying"]["reason"]
        assert seen[0]["position"] < bad_seq and seen[0]["lag"] == last - seen[0]["position"] > 0

        wait_for(lambda: position(live) == last, 30, "the projection to pass the event", 0.05)
        answer = health_of(port)
        assert answer is not None
        assert (answer["status"], answer["lag"], answer["skipped"], answer["retrying"]) == ("degraded", 0, 1, None)
        assert answer["last_skipped"]["seq"] == bad_seq and answer["last_skipped"]["event_type"] == "ReportSubmitted"
        assert "not applied after 8 attempts" in answer["last_skipped"]["reason"]
        assert "1 event(s) skipped" in answer["detail"]
        assert projection.stop(timeout=10) == 0
    finally:
        projection.kill()
    assert row_count(live, timeline) == last - 1
    letter = asyncio.run(_first_dead_letter(bus))
    assert letter.headers["Desk-Source"] == f"{bus.stream_name}:{bad_seq}"
    assert "OverflowError" in letter.headers["Desk-Dead-Letter-Reason"]
    # The rebuild meets the same event, skips it the same way, and gives the same rows (skipped_events included).
    assert_rebuild_matches(live, second_database_url, env, last - 1)
    live.dispose()


def test_a_replaced_log_stops_the_projection_and_health_asks_for_a_rebuild(
        bus: BusSettings, database_url: str, second_database_url: str, tmp_path: Path) -> None:
    """The event stream deleted and recreated: the stored position refers to another log. The
    projection must not apply the new log from that position (it would skip its first events)."""
    last = publish(bus, samples.sample_log(60))
    port = free_port()
    env = env_for(bus, database_url, port)
    live = sa.create_engine(database_url)
    first = ServiceProcess("projection", service_command("desk_projection"), env, tmp_path / "first.log").start()
    try:
        wait_for(lambda: position(live) == last, 30, "the projection to catch up", 0.05)
        nc_delete(bus)
        replacement = [e for n in range(1000, 1100) for e in samples.incident_story(n)]
        assert publish(bus, replacement) == len(replacement) > last
        wait_for(lambda: (health_of(port) or {}).get("status") == "error", 30, "/health to say error", 0.1)
        answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        assert answer.status_code == 503
        body = answer.json()
        assert (body["position"], body["lag"]) == (last, None)
        assert "not the log these read models were projected from" in body["detail"]
        assert "rebuild" in body["detail"] and "empty database" in body["detail"]
        time.sleep(1)
        assert position(live) == last and row_count(live, timeline) == last  # nothing of the new log applied
        assert first.stop(timeout=10) == 0
    finally:
        first.kill()
    assert "STOPPED" in first.output() and "rebuild" in first.output()

    again = ServiceProcess("projection", service_command("desk_projection"), env, tmp_path / "again.log").start()
    try:  # restarted, it recognises at once that the log is another one
        wait_for(lambda: (health_of(port) or {}).get("status") == "error", 30, "/health after a restart", 0.1)
        assert "another message at this projection's position" in (health_of(port) or {})["detail"]
        assert again.stop(timeout=10) == 0
    finally:
        again.kill()
    assert row_count(live, timeline) == last
    live.dispose()
    rebuild = subprocess.run(service_command("desk_projection", "rebuild", "--database-url", second_database_url),
                             env=os.environ | env, capture_output=True, text=True, timeout=60)
    assert rebuild.returncode == 0 and f"applied {len(replacement)} events" in rebuild.stdout, rebuild.stderr


def nc_delete(bus: BusSettings) -> None:
    async def delete() -> None:
        nc = await connect(bus, "test-admin")
        try:
            await nc.jetstream().delete_stream(bus.stream_name)
        finally:
            await nc.close()

    asyncio.run(delete())
