"""Triage against a real nats-server: derived events, no duplicates, poison to dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from desk_shared.contracts import subjects
from desk_shared.contracts.events import (
    Actor,
    Event,
    IncidentEscalated,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    decode_event,
    derived_id,
    utc_now,
)
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_testing.fixtures import consumer_settled, read_subject
from desk_triage.bootstrap import run
from desk_triage.settings import TriageSettings

CRITICAL = "Massa sekitar dua ratus orang membawa parang mendatangi TPS 03 dan membakar kotak suara."
QUIET = "Situasi aman, tidak ada kejadian."


def report(text: str) -> ReportSubmitted:
    now = utc_now()
    report_id = uuid.uuid4()
    return ReportSubmitted(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, correlation_id=report_id,
                           producer="test", actor=Actor.agency("polres"), payload=ReportSubmittedPayload(
                               report_id=report_id, agency="polres", channel="nats", kecamatan_code="11.13.01",
                               text=text))


@pytest.fixture
async def triage(bus: BusSettings, nats_client: Client) -> AsyncIterator[TriageSettings]:
    settings = TriageSettings(consumer_name="triage", port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, bus, stop))
    yield settings
    stop.set()
    await asyncio.wait_for(task, 10)


async def events(js: JetStreamContext, bus: BusSettings, subject: str) -> list[Event]:
    return [decode_event(m.data) for m in await read_subject(js, subject, bus.stream_name)]




async def test_critical_report_is_triaged_and_escalated(bus: BusSettings, nats_client: Client,
                                                        triage: TriageSettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    critical, quiet = report(CRITICAL), report(QUIET)
    await publisher.publish_all([critical, quiet])
    await consumer_settled(js, bus.stream_name, triage.consumer_name, 2)

    triaged = {e.causation_id: e for e in await events(js, bus, ReportTriaged.subject)}
    escalated = await events(js, bus, IncidentEscalated.subject_filter)
    assert set(triaged) == {critical.event_id, quiet.event_id}
    assert isinstance(triaged[critical.event_id], ReportTriaged)
    assert triaged[critical.event_id].payload.severity == "kritis"
    assert triaged[quiet.event_id].payload.severity == "rendah"
    [incident] = escalated
    assert isinstance(incident, IncidentEscalated)
    assert incident.event_id == derived_id(critical.event_id, "IncidentEscalated:kritis")
    assert incident.payload.incident_id == derived_id(critical.payload.report_id, "incident")
    assert [lia.id for lia in incident.payload.liaisons] == ["polsek:11.13.01", "koramil:11.13.01"]


async def test_a_duplicate_input_makes_no_duplicate_outputs(bus: BusSettings, nats_client: Client,
                                                            triage: TriageSettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    critical = report(CRITICAL)
    for msg_id in ("first-copy", "second-copy"):  # the same event appended twice, past the dedup
        await publisher.publish_raw(ReportSubmitted.subject, critical.to_json(), msg_id)
    await consumer_settled(js, bus.stream_name, triage.consumer_name, 2)

    assert len(await read_subject(js, ReportSubmitted.subject, bus.stream_name)) == 2
    assert len(await events(js, bus, ReportTriaged.subject)) == 1
    assert len(await events(js, bus, IncidentEscalated.subject_filter)) == 1


async def test_poison_is_dead_lettered_and_the_loop_goes_on(bus: BusSettings, nats_client: Client,
                                                            triage: TriageSettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    await publisher.publish_raw(ReportSubmitted.subject, b"{not json", "poison-1")
    quiet = report(QUIET)
    await publisher.publish(quiet)
    await consumer_settled(js, bus.stream_name, triage.consumer_name, 2)

    [dead] = await read_subject(js, subjects.ALL_DEAD_LETTERS, bus.dead_letter_stream_name)
    assert dead.data == b"{not json"
    assert dead.headers["Desk-Consumer"] == "triage"
    assert dead.headers["Desk-Dead-Letter-Reason"].startswith("poison")
    [triaged] = await events(js, bus, ReportTriaged.subject)
    assert triaged.causation_id == quiet.event_id
