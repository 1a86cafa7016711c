"""'Cek segera': pending checks as a fold of the log, and their deadlines kept by watchers on a
real nats-server (two replicas firing at once make one escalation; a started watcher knows the
checks of before; an answered check never escalates)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client

from desk_shared.contracts.events import (
    Actor,
    IncidentEscalated,
    IncidentUrgencyDismissed,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    UrgencyAnswerPayload,
    decode_event,
)
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_testing.fixtures import read_subject
from desk_triage.check_watcher import CheckWatcher
from desk_triage.classifier import Classification
from desk_triage.decisions import triaged_event
from desk_triage.incidents.decide import incident_of
from desk_triage.urgent_checks import Checks, escalation, evolve

NOW = datetime.now(UTC).replace(microsecond=0)


def submitted(at: datetime, text: str = "Ada bagi-bagi amplop di rumah timses.") -> ReportSubmitted:
    report_id = uuid.uuid4()
    return ReportSubmitted(event_id=uuid.uuid4(), occurred_at=at, recorded_at=at, correlation_id=report_id,
                           producer="test", actor=Actor.agency("panwascam"), payload=ReportSubmittedPayload(
                               report_id=report_id, agency="panwascam", channel="http", kecamatan_code="11.13.01",
                               village_code="11.13.01.2002", text=text))


def checked(report: ReportSubmitted) -> ReportTriaged:
    decision = Classification(Category.MONEY_POLITICS, Severity.SEDANG, 0.8, 0.6, urgent_check=True,
                              needs_review=False, review_reasons=(), evidence=(), rule_set_version="t",
                              model_version=None)
    return triaged_event(report, decision, incident_of(report.payload.report_id), "triage", timedelta(minutes=5))


def dismissed(triaged: ReportTriaged) -> IncidentUrgencyDismissed:
    p = triaged.payload
    return IncidentUrgencyDismissed.decided(Actor(kind="person", id="petugas-1"), "triage", UrgencyAnswerPayload(
        incident_id=p.incident_id, report_id=p.report_id, note="sudah dicek, kejadian kemarin"))


def test_a_check_waits_until_answered_or_escalated() -> None:
    report = submitted(NOW)
    triaged = checked(report)
    assert triaged.payload.urgent_check_due == NOW + timedelta(minutes=5)
    checks = evolve(evolve(Checks(), report), triaged)
    assert checks.due(NOW + timedelta(minutes=4)) == []
    [due] = checks.due(NOW + timedelta(minutes=5))
    assert due.reported is not None and due.reported.village_code == "11.13.01.2002"
    first, again = (escalation(due, (), "triage", "urgent_check_expired") for _ in range(2))
    assert first.event_id == again.event_id and first.payload.reason == "urgent_check_expired"
    confirmed = escalation(due, (), "triage", "urgency_confirmed", Actor(kind="person", id="petugas-1"))
    assert confirmed.event_id == first.event_id  # one escalation per check, however it comes
    assert evolve(checks, dismissed(triaged)).pending == {}
    assert evolve(checks, first).pending == {}
    assert checks.reports == {}  # a triaged report is no longer kept


async def publish(bus: BusSettings, nats_client: Client, *events: object) -> None:
    publisher = EventPublisher(nats_client.jetstream(), bus)
    try:
        await publisher.publish_all(list(events))  # type: ignore[arg-type]
    finally:
        publisher.close()


async def escalations(bus: BusSettings, nats_client: Client) -> list[IncidentEscalated]:
    found = [decode_event(m.data) for m in await read_subject(
        nats_client.jetstream(), IncidentEscalated.subject_filter, bus.stream_name)]
    return [e for e in found if isinstance(e, IncidentEscalated)]


async def test_two_watchers_escalate_an_unanswered_check_once_and_never_an_answered_one(
        bus: BusSettings, nats_client: Client) -> None:
    late, answered = submitted(NOW - timedelta(minutes=6)), submitted(NOW - timedelta(minutes=6))
    await publish(bus, nats_client, late, checked(late), answered, checked(answered), dismissed(checked(answered)))
    js = nats_client.jetstream()
    watchers = [CheckWatcher(js, bus, lambda _code: (), "triage") for _ in range(2)]
    for watcher in watchers:
        await watcher.start()  # started after the checks: it finds them in the log
        assert set(watcher.checks.pending) == {checked(late).payload.incident_id}
    publisher = EventPublisher(js, bus)
    try:
        fired = await asyncio.gather(*(w.fire_due(publisher) for w in watchers))
        assert 1 <= sum(fired) <= 2  # both may fire (same id), or the second already saw the first's
    finally:
        publisher.close()
    [escalated] = await escalations(bus, nats_client)
    assert escalated.payload.incident_id == checked(late).payload.incident_id
    assert escalated.payload.reason == "urgent_check_expired"
    assert escalated.payload.summary == late.payload.text
    for watcher in watchers:
        await watcher.stop()


async def test_a_check_not_yet_due_is_left_alone(bus: BusSettings, nats_client: Client) -> None:
    fresh = submitted(NOW)
    await publish(bus, nats_client, fresh, checked(fresh))
    watcher = CheckWatcher(nats_client.jetstream(), bus, lambda _code: (), "triage", clock=lambda: NOW)
    await watcher.start()
    publisher = EventPublisher(nats_client.jetstream(), bus)
    try:
        assert await watcher.fire_due(publisher) == 0
    finally:
        publisher.close()
        await watcher.stop()
    assert await escalations(bus, nats_client) == []
