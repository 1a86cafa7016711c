"""Alerts and their outcomes: ids from the escalation and the liaison, times as the contract says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from desk_notify.escalation.chains import start
from desk_notify.escalation.policy import load_policy
from desk_notify.fanout import alert_id, chain_alerts
from desk_notify.outcomes import delivered, failed
from desk_shared.contracts.events import (
    Actor,
    AlertDelivered,
    AlertFailed,
    AlertRequested,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    derived_id,
)
from desk_shared.contracts.incidents import AlertLevel
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity

THEN = datetime(2024, 2, 14, 7, 0, tzinfo=UTC)
LATER = datetime(2024, 2, 14, 7, 0, 3, tzinfo=UTC)
LIAISONS = (Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren"),
            Liaison(id="koramil:11.13.01", agency="tni", unit="Koramil Blangkejeren"))


def escalation() -> IncidentEscalated:
    return IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=THEN, recorded_at=THEN, correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(), producer="triage", actor=Actor.service("triage"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code="11.13.01",
            category=Category.VIOLENCE, severity=Severity.TINGGI, summary="bentrok", liaisons=()))


def alert_requests(escalated: IncidentEscalated) -> list[AlertRequested]:
    """The alerts of the chain the default policy starts for it."""
    started = start(escalated, load_policy(regions()), AlertLevel.AMAN, "notify")
    return chain_alerts(started, started.payload, regions(), "notify")


def test_a_chains_first_step_fans_out_into_one_alert_per_liaison_the_same_every_time() -> None:
    event = escalation()
    first = alert_requests(event)
    again = alert_requests(event)
    started_id = derived_id(event.event_id, "EscalationStarted")
    assert [a.event_id for a in first] == [a.event_id for a in again]
    assert [a.payload for a in first] == [a.payload for a in again]
    assert [a.payload.liaison for a in first] == list(LIAISONS)
    assert [a.payload.alert_id for a in first] == [derived_id(started_id, f"alert:{lia.id}") for lia in LIAISONS]
    assert len({a.event_id for a in first}) == 2
    assert all(a.occurred_at == THEN and a.causation_id == started_id for a in first)
    assert all(a.payload.chain_id == started_id for a in first)
    assert alert_id(event, LIAISONS[0].id) == derived_id(event.event_id, "alert:polsek:11.13.01")
    assert first[0].payload.message.startswith("TINGGI: Kekerasan dan kerusuhan di Kec. Blangkejeren")


def test_delivered_and_failed_outcomes_of_an_alert_share_one_id() -> None:
    request = alert_requests(escalation())[0]
    ok = delivered(request, 3, 200, "notify", LATER)
    bad = failed(request, 5, "HTTP 500", "notify", LATER)
    assert isinstance(ok, AlertDelivered) and isinstance(bad, AlertFailed)
    assert ok.event_id == bad.event_id == derived_id(request.event_id, "alert-outcome")
    assert ok.payload.alert_id == bad.payload.alert_id == request.payload.alert_id
    assert (ok.payload.status_code, ok.payload.attempts) == (200, 3)
    assert (bad.payload.reason, bad.payload.attempts) == ("HTTP 500", 5)


def test_an_outcome_keeps_the_chain_of_causes_and_the_time_it_happened() -> None:
    request = alert_requests(escalation())[1]
    outcome = failed(request, 0, "no contact", "notify", LATER)
    assert outcome.causation_id == request.event_id and outcome.correlation_id == request.correlation_id
    assert outcome.payload.incident_id == request.payload.incident_id
    assert outcome.payload.liaison_id == "koramil:11.13.01"
    assert (outcome.producer, outcome.actor, outcome.occurred_at) == ("notify", Actor.service("notify"), LATER)
