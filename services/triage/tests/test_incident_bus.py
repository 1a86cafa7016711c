"""Incidents on a real nats-server: two triage replicas group a burst of reports of three
happenings into three incidents (appending on condition, never twice), and desk officers'
decisions over HTTP are appended once, with the officer as actor."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from nats.aio.client import Client

from desk_shared.access.people import Role
from desk_shared.contracts.events import (
    Actor,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    decode_event,
    utc_now,
)
from desk_shared.contracts.incidents import IncidentClosed, IncidentOpened, IncidentReportAdded, IncidentVerified
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_testing.fixtures import consumer_settled, free_port, read_subject
from desk_testing.people import person_token
from desk_triage.bootstrap import run
from desk_triage.settings import TriageSettings

KEC = "11.13.01"
HAPPENINGS = {
    "11.13.01.2001": ["Perkelahian antar pendukung paslon di TPS 03, satu orang luka di kepala",
                      "TPS 03 ribut, pendukung paslon baku pukul, ada yang luka berdarah",
                      "Laporan Polsek: perkelahian di TPS 03, seorang warga luka dan dibawa ke puskesmas",
                      "Masih ada perkelahian di TPS 03, korban luka satu orang"],
    "11.13.01.2002": ["Timses bagi amplop 100 ribu ke warga malam ini di dusun 2",
                      "Ada pembagian amplop uang dari timses paslon malam ini",
                      "Warga lapor timses keliling bagi amplop berisi uang malam ini",
                      "Amplop uang dibagikan timses ke rumah warga malam ini"],
    "11.13.01.2003": ["Kotak suara TPS 07 belum sampai, besok pencoblosan",
                      "Logistik TPS 07 belum tiba, kotak suara dan surat suara tertahan",
                      "PPS: kotak suara untuk TPS 07 belum datang sampai sore ini",
                      "TPS 07 belum terima kotak suara dan surat suara untuk besok"],
}


def report(text: str, village: str, offset: int) -> ReportSubmitted:
    at = utc_now() + timedelta(seconds=offset)
    report_id = uuid.uuid4()
    return ReportSubmitted(event_id=uuid.uuid4(), occurred_at=at, recorded_at=at, correlation_id=report_id,
                           producer="test", actor=Actor.agency("polres"), payload=ReportSubmittedPayload(
                               report_id=report_id, agency="polres", channel="nats", kecamatan_code=KEC,
                               village_code=village, text=text))


@pytest.fixture
async def replicas(bus: BusSettings, nats_client: Client) -> AsyncIterator[list[TriageSettings]]:
    settings = [TriageSettings(consumer_name="triage", port=free_port()) for _ in range(2)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run(s, bus, stop)) for s in settings]
    yield settings
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 15)


async def keyed(nats_client: Client, bus: BusSettings, kind: type) -> list:
    js = nats_client.jetstream()
    return [decode_event(m.data) for m in await read_subject(js, kind.subject_filter, bus.stream_name)]


async def test_two_replicas_group_a_burst_into_one_incident_per_happening(
        bus: BusSettings, nats_client: Client, replicas: list[TriageSettings]) -> None:
    reports = [report(text, village, offset) for offset, (village, texts) in enumerate(HAPPENINGS.items())
               for text in texts]
    order = [reports[i] for i in (0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11)]  # the happenings interleaved
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    await publisher.publish_all(order)
    await consumer_settled(js, bus.stream_name, "triage", len(order))

    opened = await keyed(nats_client, bus, IncidentOpened)
    added = await keyed(nats_client, bus, IncidentReportAdded)
    placed = Counter([e.payload.report.report_id for e in opened] + [e.payload.report.report_id for e in added])
    assert placed == Counter({r.payload.report_id: 1 for r in reports})  # every report placed exactly once
    assert len(opened) == 3
    incident_of = {e.payload.report.report_id: e.payload.incident_id for e in opened + added}
    by_village = {village: {incident_of[r.payload.report_id] for r in reports if r.payload.village_code == village}
                  for village in HAPPENINGS}
    assert all(len(ids) == 1 for ids in by_village.values()) and len(set().union(*by_village.values())) == 3
    triaged = await keyed(nats_client, bus, ReportTriaged)
    assert {e.payload.report_id: e.payload.incident_id for e in triaged} == incident_of


async def test_officers_decide_over_http_once_and_as_themselves(
        bus: BusSettings, nats_client: Client, replicas: list[TriageSettings]) -> None:
    js = nats_client.jetstream()
    fight = report(HAPPENINGS["11.13.01.2001"][0], "11.13.01.2001", 0)
    await EventPublisher(js, bus).publish(fight)
    await consumer_settled(js, bus.stream_name, "triage", 1)
    [opened] = await keyed(nats_client, bus, IncidentOpened)
    incident = opened.payload.incident_id
    officer = await asyncio.to_thread(person_token, bus, "petugas.desk", (Role.DESK_OFFICER,))
    leader = await asyncio.to_thread(person_token, bus, "pimpinan", (Role.LEADER,))
    url = f"http://127.0.0.1:{replicas[1].port}"
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        assert (await client.get("/health")).json()["status"] == "ok"  # reports are taken only once it is
        auth = {"Authorization": f"Bearer {officer}"}
        verify = {"category": "violence", "note": "dicek ke Polsek"}
        for _ in range(2):  # a retried request with the same key appends once
            answer = await client.post(f"/v1/incidents/{incident}/verify", json=verify,
                                       headers={**auth, "Idempotency-Key": "verify-1"})
            assert answer.status_code == 202, answer.text
        assert (await client.post(f"/v1/incidents/{incident}/verify", json=verify,
                                  headers={"Authorization": f"Bearer {leader}"})).status_code == 403
        assert (await client.post(f"/v1/incidents/{uuid.uuid4()}/notes", json={"note": "x"},
                                  headers=auth)).status_code == 404
        closed = await client.post(f"/v1/incidents/{incident}/close", headers=auth,
                                   json={"reason": "selesai_ditindaklanjuti", "note": "didamaikan"})
        assert closed.status_code == 202 and closed.json()["events"][0] == "IncidentClosed"
        again = await client.post(f"/v1/incidents/{incident}/close", headers=auth,
                                  json={"reason": "tidak_terbukti"})
        assert again.status_code == 409 and "closed" in again.json()["detail"]
        bad = await client.post(f"/v1/incidents/{incident}/close", headers=auth, json={"reason": "bosan"})
        assert bad.status_code == 422
    [verified] = await keyed(nats_client, bus, IncidentVerified)
    [closing] = await keyed(nats_client, bus, IncidentClosed)
    assert verified.actor.kind == closing.actor.kind == "person"
    assert verified.actor.id == closing.actor.id
