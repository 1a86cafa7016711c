"""Incidents survive kill -9: two triage replicas, each its own process, place a stream of
reports of six happenings while one of them is killed again and again. Every report ends in
exactly one incident, once, its ReportTriaged names that incident, and no event is doubled."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.contracts.events import Actor, ReportSubmitted, ReportSubmittedPayload, utc_now
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.fixtures import bus_env, fresh_bus, read_stream, wait_for

pytestmark = pytest.mark.system

PLACES = [f"11.13.{k:02d}.{2001 + v}" for k in (1, 2) for v in range(3)]
TEXTS = ["Perkelahian antar pendukung paslon di TPS 0{n}, ada korban luka",
         "Timses bagi amplop uang ke warga malam ini, laporan {n}",
         "Kotak suara TPS 0{n} belum sampai padahal besok pencoblosan"]


def reports() -> list[ReportSubmitted]:
    out = []
    start = utc_now()
    for i in range(60):
        village = PLACES[i % len(PLACES)]
        kind = PLACES.index(village) % len(TEXTS)
        report_id = uuid.uuid4()
        at = start + timedelta(seconds=i)
        out.append(ReportSubmitted(
            event_id=report_id, occurred_at=at, recorded_at=at, correlation_id=report_id, producer="test",
            actor=Actor.agency("polres"), payload=ReportSubmittedPayload(
                report_id=report_id, agency="polres", channel="nats", kecamatan_code=village[:8],
                village_code=village, text=TEXTS[kind].format(n=kind + 1) + f" ({i})")))
    return out


async def publish_slowly(bus: BusSettings, events: list[ReportSubmitted], replicas: list[ServiceProcess]) -> None:
    nc = await connect(bus, "test-publisher")
    await ensure_streams(nc.jetstream(), bus)
    publisher = EventPublisher(nc.jetstream(), bus)
    for i, event in enumerate(events):
        await publisher.publish(event)
        if i in (15, 35):  # kill -9 the first replica mid-stream, and start it again
            replicas[0].process.kill()  # type: ignore[union-attr]
            replicas[0].process.wait()  # type: ignore[union-attr]
            replicas[0].start()
        await asyncio.sleep(0.05)
    publisher.close()
    await nc.close()


def test_every_report_is_placed_once_while_a_replica_is_killed(nats_url: str, tmp_path: Path) -> None:
    bus = fresh_bus(nats_url)
    env = bus_env(bus) | {"DESK_TRIAGE_PORT": "0"}
    replicas = [ServiceProcess(f"triage-{n}", service_command("desk_triage"), env, tmp_path / f"triage-{n}.log")
                for n in range(2)]
    events = reports()
    try:
        for replica in replicas:
            replica.start()
        asyncio.run(publish_slowly(bus, events, replicas))

        def log() -> list[dict]:
            return [json.loads(data) for _, _, data in read_stream(bus)]

        wait_for(lambda: sum(e["type"] == "ReportTriaged" for e in log()) >= len(events), 90,
                 what="every report triaged")
    finally:
        for replica in replicas:
            replica.stop()
    found = log()
    assert max(Counter(e["event_id"] for e in found).values()) == 1  # no event stored twice
    placed = Counter(e["payload"]["report"]["report_id"] for e in found
                     if e["type"] in ("IncidentOpened", "IncidentReportAdded"))
    assert placed == Counter({str(e.payload.report_id): 1 for e in events})
    incident_of = {e["payload"]["report"]["report_id"]: e["payload"]["incident_id"] for e in found
                   if e["type"] in ("IncidentOpened", "IncidentReportAdded")}
    triaged = [e for e in found if e["type"] == "ReportTriaged"]
    assert len(triaged) == len(events)
    assert all(incident_of[e["payload"]["report_id"]] == e["payload"]["incident_id"] for e in triaged)
    by_place = {village: {incident_of[str(e.payload.report_id)] for e in events if e.payload.village_code == village}
                for village in PLACES}
    assert all(len(ids) == 1 for ids in by_place.values()), by_place  # one happening, one incident
