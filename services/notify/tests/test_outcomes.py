"""Alert ids and outcome ids are functions of the escalation and the liaison, nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from desk_notify.outcomes import alert_id, outcome_event, outcome_id
from desk_notify.webhook import Delivery
from desk_shared.events import (
    AlertDelivered,
    AlertFailed,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    derived_id,
)
from desk_shared.taxonomy import Category, Severity

NOW = datetime(2024, 2, 14, 7, 0, tzinfo=UTC)


def escalation() -> IncidentEscalated:
    return IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=NOW, recorded_at=NOW, correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(), producer="triage", payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code="11.13.01",
            category=Category.VIOLENCE, severity=Severity.TINGGI, summary="bentrok",
            liaisons=(Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren"),)))


def test_ids_are_derived_from_the_escalation_and_liaison() -> None:
    event = escalation()
    assert alert_id(event, "polsek:11.13.01") == derived_id(event.event_id, "alert:polsek:11.13.01")
    assert outcome_id(event, "polsek:11.13.01") == derived_id(event.event_id, "alert-outcome:polsek:11.13.01")
    assert alert_id(event, "polsek:11.13.01") != alert_id(event, "koramil:11.13.01")
    assert outcome_id(event, "polsek:11.13.01") != alert_id(event, "polsek:11.13.01")


def test_delivered_and_failed_outcomes_share_one_id() -> None:
    event = escalation()
    delivered = outcome_event(event, "polsek:11.13.01", Delivery(attempts=3, status_code=200), "notify", NOW)
    failed = outcome_event(event, "polsek:11.13.01", Delivery(attempts=5, reason="HTTP 500"), "notify", NOW)
    assert isinstance(delivered, AlertDelivered) and isinstance(failed, AlertFailed)
    assert delivered.event_id == failed.event_id == outcome_id(event, "polsek:11.13.01")
    assert delivered.payload.alert_id == failed.payload.alert_id == alert_id(event, "polsek:11.13.01")
    assert (delivered.payload.status_code, delivered.payload.attempts) == (200, 3)
    assert (failed.payload.reason, failed.payload.attempts) == ("HTTP 500", 5)


def test_outcome_keeps_the_chain_of_causes() -> None:
    event = escalation()
    outcome = outcome_event(event, "koramil:11.13.01", Delivery(attempts=0, reason="no contact"), "notify", NOW)
    assert outcome.causation_id == event.event_id and outcome.correlation_id == event.correlation_id
    assert outcome.payload.incident_id == event.payload.incident_id
    assert outcome.producer == "notify"


def test_a_rejected_answer_is_a_failure_with_its_status() -> None:
    outcome = outcome_event(escalation(), "polsek:11.13.01", Delivery(1, 404, "HTTP 404 (not retried)"), "notify")
    assert isinstance(outcome, AlertFailed) and "404" in outcome.payload.reason
