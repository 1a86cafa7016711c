"""How each event changes the read models: one function per event type, on the rows of a batch
held in memory (`WorkingSet`). Pure: no SQL, no wall clock, no randomness. Every value comes
from the event and its stream sequence, so replaying the log from sequence 1 gives identical rows.

Events arrive in stream order; an event about something the projection has not seen (a triage
of an unknown report) is applied with what it carries rather than dropped."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from desk_projection.working_set import Row, WorkingSet
from desk_shared.contracts.events import (
    AlertDelivered,
    AlertFailed,
    AlertRequested,
    Event,
    IncidentEscalated,
    IncidentUrgencyConfirmed,
    IncidentUrgencyDismissed,
    ReportSubmitted,
    ReportTriaged,
)

log = logging.getLogger(__name__)

TRIAGED = "triaged"
ESCALATED = "escalated"
CHECK_OPEN, CHECK_CONFIRMED, CHECK_DISMISSED, CHECK_EXPIRED = "open", "confirmed", "dismissed", "expired"
"""A 'cek segera' check: waiting for a desk officer, answered urgent or not, or escalated at its deadline."""


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _timeline(seq: int, event: Event, report_id: uuid.UUID | None, incident_id: uuid.UUID | None,
              summary: dict[str, Any]) -> Row:
    return {"stream_seq": seq, "event_id": event.event_id, "event_type": event.event_type, "report_id": report_id,
            "incident_id": incident_id, "occurred_at": utc(event.occurred_at), "recorded_at": utc(event.recorded_at),
            "producer": event.producer, "summary": summary}


def _new_incident(seq: int, at: datetime, **fields: Any) -> Row:
    return {"escalated_at": None, "liaisons": [], "alerts_delivered": 0, "alerts_failed": 0, "opened_at": at,
            "updated_at": at, "opened_seq": seq, "last_seq": seq, "urgent_check": None, "urgent_check_due": None,
            **fields}


def report_submitted(rows: WorkingSet, seq: int, event: ReportSubmitted) -> None:
    p = event.payload
    # incident_id is normally None: set when the log holds the report's triage before it (publishers racing).
    incident_id = rows.report_incident.get(p.report_id)
    if rows.report(p.report_id) is not None:
        log.warning("report %s submitted again at seq %d: keeping the first submission", p.report_id, seq)
    else:
        rows.add_report({
            "report_id": p.report_id, "incident_id": incident_id, "agency": p.agency, "channel": p.channel,
            "kecamatan_code": p.kecamatan_code, "village_code": p.village_code, "text": p.text,
            "occurred_at": utc(p.occurred_at) if p.occurred_at else None, "submitted_at": utc(event.occurred_at),
            "stream_seq": seq, "reporter": p.reporter.model_dump() if p.reporter else None})
    if incident_id is not None and p.village_code:
        incident = rows.incident(incident_id)
        if incident is not None and incident["village_code"] is None:
            incident["village_code"] = p.village_code
            rows.changed(incident_id)
    rows.add_timeline(_timeline(seq, event, p.report_id, incident_id, {
        "agency": p.agency, "channel": p.channel, "kecamatan_code": p.kecamatan_code,
        "village_code": p.village_code}))


def report_triaged(rows: WorkingSet, seq: int, event: ReportTriaged) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    summary = {"category": p.category.value, "severity": p.severity.value, "confidence": p.confidence,
               "automated": p.automated, "needs_review": p.needs_review, "rule_set_version": p.rule_set_version,
               "model_version": p.model_version}
    decision = {**summary, "evidence": list(p.evidence), "review_reasons": list(p.review_reasons),
                "severity_confidence": p.severity_confidence, "updated_at": at, "last_seq": seq}
    if p.urgent_check_due is not None:
        decision |= {"urgent_check": CHECK_OPEN, "urgent_check_due": utc(p.urgent_check_due)}
        summary["urgent_check_due"] = utc(p.urgent_check_due).isoformat()
    incident = rows.incident(p.incident_id)
    if incident is not None:  # a later decision on a known incident (re-triage, a report clustered in)
        incident.update(decision)
        rows.changed(p.incident_id)
    else:  # the usual case
        report = rows.report(p.report_id)
        rows.add_incident(_new_incident(
            seq, at, **decision, incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            village_code=report["village_code"] if report else None, status=TRIAGED))
    rows.link_report(p.report_id, p.incident_id)
    rows.link_timeline(p.report_id, p.incident_id)
    rows.add_timeline(_timeline(seq, event, p.report_id, p.incident_id, summary))


def incident_escalated(rows: WorkingSet, seq: int, event: IncidentEscalated) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    liaisons = [liaison.model_dump(mode="json") for liaison in p.liaisons]
    incident = rows.incident(p.incident_id)
    if incident is not None:
        incident.update(status=ESCALATED, liaisons=liaisons, updated_at=at, last_seq=seq,
                        escalated_at=incident["escalated_at"] if incident["escalated_at"] is not None else at)
        if incident["urgent_check"] == CHECK_OPEN:
            incident["urgent_check"] = CHECK_EXPIRED if p.reason == "urgent_check_expired" else CHECK_CONFIRMED
        rows.changed(p.incident_id)
    else:  # escalated without a triage the projection saw: open it from what the event says
        log.warning("incident %s escalated at seq %d without a known triage", p.incident_id, seq)
        rows.add_incident(_new_incident(
            seq, at, incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            village_code=p.village_code, category=p.category.value, severity=p.severity.value, confidence=None,
            automated=True, rule_set_version=None, evidence=[], needs_review=False, review_reasons=[],
            severity_confidence=None, model_version=None, status=ESCALATED, escalated_at=at,
            liaisons=liaisons))
    rows.add_timeline(_timeline(seq, event, p.report_id, p.incident_id,
                                {"severity": p.severity.value, "liaisons": [liaison["id"] for liaison in liaisons],
                                 "reason": p.reason}))


def urgency_answered(rows: WorkingSet, seq: int, event: IncidentUrgencyConfirmed | IncidentUrgencyDismissed) -> None:
    """A desk officer's answer to a 'cek segera' check."""
    p = event.payload
    incident = rows.incident(p.incident_id)
    answer = CHECK_CONFIRMED if isinstance(event, IncidentUrgencyConfirmed) else CHECK_DISMISSED
    if incident is not None and incident["urgent_check"] == CHECK_OPEN:
        incident.update(urgent_check=answer, updated_at=utc(event.occurred_at), last_seq=seq)
        rows.changed(p.incident_id)
    rows.add_timeline(_timeline(seq, event, p.report_id, p.incident_id,
                                {"answer": answer, "by": event.actor.id, "note": p.note}))


def alert_requested(rows: WorkingSet, seq: int, event: AlertRequested) -> None:
    """Only the timeline: what notify is about to send to whom. Outcomes are counted when they come."""
    p = event.payload
    rows.add_timeline(_timeline(seq, event, p.incident.report_id, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison.id, "liaison_agency": p.liaison.agency,
        "liaison_unit": p.liaison.unit, "message": p.message}))


def _alert_outcome(rows: WorkingSet, seq: int, event: AlertDelivered | AlertFailed, counter: str,
                   detail: dict[str, Any]) -> None:
    p = event.payload
    incident = rows.incident(p.incident_id)
    report_id = None
    if incident is not None:
        incident[counter] += 1
        incident["updated_at"] = utc(event.occurred_at)
        incident["last_seq"] = seq
        rows.changed(p.incident_id)
        report_id = incident["report_id"]
    else:
        log.warning("%s at seq %d for unknown incident %s", event.event_type, seq, p.incident_id)
    rows.add_timeline(_timeline(seq, event, report_id, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison_id, "channel": p.channel,
        "attempts": p.attempts, **detail}))


def alert_delivered(rows: WorkingSet, seq: int, event: AlertDelivered) -> None:
    _alert_outcome(rows, seq, event, "alerts_delivered", {"status_code": event.payload.status_code})


def alert_failed(rows: WorkingSet, seq: int, event: AlertFailed) -> None:
    _alert_outcome(rows, seq, event, "alerts_failed", {"reason": event.payload.reason})


_APPLIERS: dict[type[Event], Callable[[WorkingSet, int, Any], None]] = {
    ReportSubmitted: report_submitted,
    ReportTriaged: report_triaged,
    IncidentEscalated: incident_escalated,
    IncidentUrgencyConfirmed: urgency_answered,
    IncidentUrgencyDismissed: urgency_answered,
    AlertRequested: alert_requested,
    AlertDelivered: alert_delivered,
    AlertFailed: alert_failed,
}


def handles(event: Event) -> bool:
    return type(event) in _APPLIERS


def apply_event(rows: WorkingSet, seq: int, event: Event) -> bool:
    """Apply one event; False when this projection has nothing to do with its type."""
    applier = _APPLIERS.get(type(event))
    if applier is None:
        return False
    applier(rows, seq, event)
    return True


def rows_needed(events: list[Event]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The reports (with their timeline) and the incidents these events read: load them first."""
    report_ids: set[uuid.UUID] = set()
    incident_ids: set[uuid.UUID] = set()
    for event in events:
        if isinstance(event, ReportSubmitted):
            report_ids.add(event.payload.report_id)
        elif isinstance(event, ReportTriaged):
            report_ids.add(event.payload.report_id)
            incident_ids.add(event.payload.incident_id)
        elif isinstance(event, IncidentEscalated | AlertDelivered | AlertFailed | IncidentUrgencyConfirmed
                        | IncidentUrgencyDismissed):
            incident_ids.add(event.payload.incident_id)
    return report_ids, incident_ids
