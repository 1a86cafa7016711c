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
from desk_shared.contracts.alerts import AlertHeld
from desk_shared.contracts.escalation import (
    ESCALATION_EVENTS,
    AlertAcknowledged,
    EscalationExhausted,
    EscalationReminded,
    EscalationStarted,
    EscalationStepReached,
)
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
from desk_shared.contracts.incidents import (
    AreaAlertLevelChanged,
    IncidentAssigned,
    IncidentAssignmentOverdue,
    IncidentClosed,
    IncidentMerged,
    IncidentNoted,
    IncidentOpened,
    IncidentProgressRecorded,
    IncidentReclassified,
    IncidentReopened,
    IncidentReportAdded,
    IncidentSeverityChanged,
    IncidentSplit,
    IncidentVerified,
    KeyedEvent,
    Stage,
)

log = logging.getLogger(__name__)

TRIAGED = "triaged"
ESCALATED = "escalated"
CLOSED = "closed"
MERGED = "merged"
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
            "report_count": 1, "closed_reason": None, "closed_at": None, "merged_into": None, **fields}


_REPORT_CLASSIFICATION = {"category": None, "severity": None, "confidence": None, "needs_review": None,
                          "evidence": None}


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
            "stream_seq": seq, "reporter": p.reporter.model_dump() if p.reporter else None,
            **_REPORT_CLASSIFICATION})
    if incident_id is not None and p.village_code:
        incident = rows.incident(incident_id)
        if incident is not None and incident["village_code"] is None:
            incident["village_code"] = p.village_code
            rows.changed(incident_id)
    rows.add_timeline(_timeline(seq, event, p.report_id, incident_id, {
        "agency": p.agency, "channel": p.channel, "kecamatan_code": p.kecamatan_code,
        "village_code": p.village_code}))


def report_triaged(rows: WorkingSet, seq: int, event: ReportTriaged) -> None:
    """The report's own classification; the incident's automatic details when it is the report
    that opened it (its category and severity belong to the incident's own events)."""
    p = event.payload
    at = utc(event.occurred_at)
    summary = {"category": p.category.value, "severity": p.severity.value, "confidence": p.confidence,
               "automated": p.automated, "needs_review": p.needs_review, "rule_set_version": p.rule_set_version,
               "model_version": p.model_version}
    rows.classify_report(p.report_id, {"incident_id": p.incident_id, "category": p.category.value,
                                       "severity": p.severity.value, "confidence": p.confidence,
                                       "needs_review": p.needs_review, "evidence": list(p.evidence)})
    details = {"confidence": p.confidence, "evidence": list(p.evidence), "review_reasons": list(p.review_reasons),
               "needs_review": p.needs_review, "rule_set_version": p.rule_set_version,
               "model_version": p.model_version, "severity_confidence": p.severity_confidence, "last_seq": seq}
    if p.urgent_check_due is not None:
        details |= {"urgent_check": CHECK_OPEN, "urgent_check_due": utc(p.urgent_check_due)}
        summary["urgent_check_due"] = utc(p.urgent_check_due).isoformat()
    incident = rows.incident(p.incident_id)
    if incident is not None:
        if incident["report_id"] == p.report_id or p.urgent_check_due is not None:
            incident.update(details if incident["report_id"] == p.report_id else
                            {k: details[k] for k in ("urgent_check", "urgent_check_due", "last_seq")})
            rows.changed(p.incident_id)
    else:  # a log from before incidents had their own events: the triage opened it
        report = rows.report(p.report_id)
        rows.add_incident(_new_incident(
            seq, at, **details, category=p.category.value, severity=p.severity.value, automated=True,
            incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            village_code=report["village_code"] if report else None, status=TRIAGED, updated_at=at))
    rows.link_report(p.report_id, p.incident_id)
    rows.link_timeline(p.report_id, p.incident_id)
    rows.add_timeline(_timeline(seq, event, p.report_id, p.incident_id, summary))


# ----------------------------------------------------------------------------- the incident's own events
def incident_opened(rows: WorkingSet, seq: int, event: IncidentOpened) -> None:
    p, r = event.payload, event.payload.report
    at = utc(event.occurred_at)
    if rows.incident(p.incident_id) is None:
        rows.add_incident(_new_incident(
            seq, at, incident_id=p.incident_id, report_id=r.report_id, kecamatan_code=p.kecamatan_code,
            village_code=r.village_code, category=p.category.value, severity=p.severity.value, confidence=None,
            automated=True, rule_set_version=None, evidence=[], needs_review=False, review_reasons=[],
            severity_confidence=None, model_version=None, status=TRIAGED))
    rows.link_report(r.report_id, p.incident_id)
    rows.link_timeline(r.report_id, p.incident_id)
    rows.add_timeline(_timeline(seq, event, r.report_id, p.incident_id, {
        "category": p.category.value, "severity": p.severity.value, "village_code": r.village_code, "tps": r.tps}))


def _changed(rows: WorkingSet, seq: int, event: KeyedEvent, summary: dict[str, Any],
             report_id: uuid.UUID | None = None, **fields: Any) -> Row | None:
    """Update the incident's row (if known) with `fields`, and add the event to its timeline."""
    incident_id = event.payload.incident_id  # type: ignore[attr-defined]
    incident = rows.incident(incident_id)
    if incident is not None:
        incident.update(fields, updated_at=utc(event.occurred_at), last_seq=seq)
        rows.changed(incident_id)
    else:
        log.warning("%s at seq %d for unknown incident %s", event.event_type, seq, incident_id)
    rows.add_timeline(_timeline(seq, event, report_id, incident_id, {**summary, "by": _by(event)}))
    return incident


def _by(event: Event) -> str:
    return f"{event.actor.kind}:{event.actor.id}"


def incident_report_added(rows: WorkingSet, seq: int, event: IncidentReportAdded) -> None:
    p, r = event.payload, event.payload.report
    incident = _changed(rows, seq, event, {"reason": p.reason, "category": r.category.value,
                                           "severity": r.severity.value}, r.report_id)
    if incident is not None:
        incident["report_count"] += 1
        if incident["village_code"] is None and r.village_code:
            incident["village_code"] = r.village_code
    rows.link_report(r.report_id, p.incident_id)
    rows.link_timeline(r.report_id, p.incident_id)


def incident_reclassified(rows: WorkingSet, seq: int, event: IncidentReclassified) -> None:
    p = event.payload
    person = {"automated": False} if event.actor.kind == "person" else {}
    _changed(rows, seq, event, {"category": p.category.value, "previous": p.previous.value, "reason": p.reason},
             category=p.category.value, **person)


def incident_severity_changed(rows: WorkingSet, seq: int, event: IncidentSeverityChanged) -> None:
    p = event.payload
    person = {"automated": False} if event.actor.kind == "person" else {}
    _changed(rows, seq, event, {"severity": p.severity.value, "previous": p.previous.value, "reason": p.reason},
             severity=p.severity.value, **person)


def incident_verified(rows: WorkingSet, seq: int, event: IncidentVerified) -> None:
    p = event.payload
    _changed(rows, seq, event, {"category": p.category.value, "severity": p.severity.value, "note": p.note},
             category=p.category.value, severity=p.severity.value, automated=False, needs_review=False)


def incident_noted(rows: WorkingSet, seq: int, event: IncidentNoted) -> None:
    _changed(rows, seq, event, {"note": event.payload.note})


def incident_closed(rows: WorkingSet, seq: int, event: IncidentClosed) -> None:
    p = event.payload
    _changed(rows, seq, event, {"reason": p.reason.value, "note": p.note}, status=CLOSED,
             closed_reason=p.reason.value, closed_at=utc(event.occurred_at))


def incident_reopened(rows: WorkingSet, seq: int, event: IncidentReopened) -> None:
    incident = rows.incident(event.payload.incident_id)
    status = ESCALATED if incident is not None and incident["escalated_at"] is not None else TRIAGED
    _changed(rows, seq, event, {"note": event.payload.note}, status=status, closed_reason=None, closed_at=None)


def incident_merged(rows: WorkingSet, seq: int, event: IncidentMerged) -> None:
    p = event.payload
    target = _changed(rows, seq, event, {"merged_incident_id": str(p.merged_incident_id), "note": p.note,
                                         "reports": len(p.report_ids)})
    merged = rows.incident(p.merged_incident_id)
    if merged is not None:
        merged.update(status=MERGED, merged_into=p.incident_id, report_count=0, updated_at=utc(event.occurred_at),
                      last_seq=seq)
        rows.changed(p.merged_incident_id)
    if target is not None:
        target["report_count"] += len(p.report_ids)
    for report_id in p.report_ids:
        rows.link_report(report_id, p.incident_id)


def incident_split(rows: WorkingSet, seq: int, event: IncidentSplit) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    source = _changed(rows, seq, event, {"new_incident_id": str(p.new_incident_id), "note": p.note,
                                         "reports": len(p.report_ids)})
    if source is not None:
        source["report_count"] = max(source["report_count"] - len(p.report_ids), 0)
    first = rows.report(p.report_ids[0])
    rows.add_incident(_new_incident(
        seq, at, incident_id=p.new_incident_id, report_id=p.report_ids[0], kecamatan_code=p.kecamatan_code,
        village_code=first["village_code"] if first else None, category=p.category.value,
        severity=p.severity.value, confidence=None, automated=event.actor.kind != "person", rule_set_version=None,
        evidence=[], needs_review=False, review_reasons=[], severity_confidence=None, model_version=None,
        status=TRIAGED, report_count=len(p.report_ids)))
    for report_id in p.report_ids:
        rows.link_report(report_id, p.new_incident_id)
    # one timeline row per event (its sequence is the key): the source's, naming the new incident


# ----------------------------------------------------------------------------- agencies and levels
def incident_assigned(rows: WorkingSet, seq: int, event: IncidentAssigned) -> None:
    p = event.payload
    incident = rows.incident(p.incident_id)
    rows.put_assignment({
        "incident_id": p.incident_id, "agency": p.agency, "kecamatan_code": p.kecamatan_code, "reason": p.reason,
        "severity": incident["severity"] if incident else "", "assigned_at": utc(event.occurred_at),
        "acknowledge_by": utc(p.acknowledge_by), "act_by": utc(p.act_by), "acknowledged_at": None,
        "acted_at": None, "finished_at": None, "overdue": [], "last_seq": seq})
    _changed(rows, seq, event, {"agency": p.agency, "reason": p.reason,
                                "acknowledge_by": utc(p.acknowledge_by).isoformat(),
                                "act_by": utc(p.act_by).isoformat()})


_STAGE_COLUMNS = {Stage.ACKNOWLEDGED: "acknowledged_at", Stage.ACTED: "acted_at", Stage.FINISHED: "finished_at"}


def incident_progress(rows: WorkingSet, seq: int, event: IncidentProgressRecorded) -> None:
    p = event.payload
    row = rows.assignment(p.incident_id, p.agency)
    if row is not None and row[_STAGE_COLUMNS[p.stage]] is None:
        row[_STAGE_COLUMNS[p.stage]] = utc(event.occurred_at)
        row["last_seq"] = seq
        rows.assignment_changed(p.incident_id, p.agency)
    _changed(rows, seq, event, {"agency": p.agency, "stage": p.stage.value, "note": p.note})


def assignment_overdue(rows: WorkingSet, seq: int, event: IncidentAssignmentOverdue) -> None:
    p = event.payload
    row = rows.assignment(p.incident_id, p.agency)
    if row is not None and p.stage.value not in row["overdue"]:
        row["overdue"] = [*row["overdue"], p.stage.value]
        row["last_seq"] = seq
        rows.assignment_changed(p.incident_id, p.agency)
    _changed(rows, seq, event, {"agency": p.agency, "stage": p.stage.value, "due": utc(p.due).isoformat()})


def alert_level_changed(rows: WorkingSet, seq: int, event: AreaAlertLevelChanged) -> None:
    p = event.payload
    rows.put_level({"kecamatan_code": p.kecamatan_code, "level": p.level.value, "previous": p.previous.value,
                    "score": p.score, "reason": p.reason, "since": utc(event.occurred_at), "last_seq": seq})
    rows.add_timeline(_timeline(seq, event, None, None, {
        "kecamatan_code": p.kecamatan_code, "level": p.level.value, "previous": p.previous.value,
        "score": p.score, "liaisons": [liaison.id for liaison in p.liaisons]}))


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
    rows.add_timeline(_timeline(seq, event, p.incident.report_id if p.incident else None, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison.id, "liaison_agency": p.liaison.agency,
        "liaison_unit": p.liaison.unit, "message": p.message}))


def _alert_outcome(rows: WorkingSet, seq: int, event: AlertDelivered | AlertFailed, counter: str,
                   detail: dict[str, Any]) -> None:
    p = event.payload
    incident = rows.incident(p.incident_id) if p.incident_id else None
    report_id = None
    if incident is not None:
        assert p.incident_id is not None
        incident[counter] += 1
        incident["updated_at"] = utc(event.occurred_at)
        incident["last_seq"] = seq
        rows.changed(p.incident_id)
        report_id = incident["report_id"]
    elif p.incident_id is not None:
        log.warning("%s at seq %d for unknown incident %s", event.event_type, seq, p.incident_id)
    rows.add_timeline(_timeline(seq, event, report_id, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison_id, "channel": p.channel,
        "attempts": p.attempts, **detail}))


def alert_delivered(rows: WorkingSet, seq: int, event: AlertDelivered) -> None:
    _alert_outcome(rows, seq, event, "alerts_delivered", {"status_code": event.payload.status_code})


def alert_failed(rows: WorkingSet, seq: int, event: AlertFailed) -> None:
    _alert_outcome(rows, seq, event, "alerts_failed", {"reason": event.payload.reason})


def alert_held(rows: WorkingSet, seq: int, event: AlertHeld) -> None:
    p = event.payload
    rows.add_timeline(_timeline(seq, event, p.incident.report_id if p.incident else None, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison.id, "liaison_unit": p.liaison.unit,
        "reason": p.reason, "release_at": utc(p.release_at).isoformat()}))


EscalationEvent = (EscalationStarted | EscalationStepReached | EscalationReminded | EscalationExhausted
                   | AlertAcknowledged)


def escalation(rows: WorkingSet, seq: int, event: EscalationEvent) -> None:
    """Only the timeline: where the incident's chain went, and who took it on (and how)."""
    p = event.payload
    incident = rows.incident(p.incident_id)
    summary: dict[str, Any] = {"chain_id": str(p.chain_id)}
    match event:
        case EscalationStarted(payload=started):
            summary |= {"rule": started.rule, "policy_version": started.policy_version,
                        "recipients": [r.id for r in started.steps[0].recipients],
                        "ack_within_seconds": started.steps[0].ack_within_seconds}
        case EscalationStepReached(payload=step):
            summary |= {"step": step.step, "round": step.round, "recipients": [r.id for r in step.recipients]}
        case EscalationReminded(payload=reminded):
            summary |= {"reminder": reminded.reminder, "recipients": [r.id for r in reminded.recipients]}
        case EscalationExhausted(payload=exhausted):
            summary |= {"recipients": [r.id for r in exhausted.recipients]}
        case AlertAcknowledged(payload=ack):
            summary |= {"liaison_id": ack.liaison_id, "via": ack.via, "by": event.actor.id}
    rows.add_timeline(_timeline(seq, event, incident["report_id"] if incident else None, p.incident_id, summary))


_APPLIERS: dict[type[Event], Callable[[WorkingSet, int, Any], None]] = {
    ReportSubmitted: report_submitted,
    ReportTriaged: report_triaged,
    IncidentOpened: incident_opened,
    IncidentReportAdded: incident_report_added,
    IncidentReclassified: incident_reclassified,
    IncidentSeverityChanged: incident_severity_changed,
    IncidentVerified: incident_verified,
    IncidentNoted: incident_noted,
    IncidentClosed: incident_closed,
    IncidentReopened: incident_reopened,
    IncidentMerged: incident_merged,
    IncidentSplit: incident_split,
    IncidentAssigned: incident_assigned,
    IncidentProgressRecorded: incident_progress,
    IncidentAssignmentOverdue: assignment_overdue,
    AreaAlertLevelChanged: alert_level_changed,
    IncidentEscalated: incident_escalated,
    IncidentUrgencyConfirmed: urgency_answered,
    IncidentUrgencyDismissed: urgency_answered,
    AlertRequested: alert_requested,
    AlertDelivered: alert_delivered,
    AlertFailed: alert_failed,
    AlertHeld: alert_held,
    **dict.fromkeys(ESCALATION_EVENTS, escalation),
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


def rows_needed(events: list[Event]) -> tuple[set[uuid.UUID], set[uuid.UUID], set[str]]:
    """The reports (with their timeline), the incidents and the kecamatan levels these events
    read: load them first."""
    report_ids: set[uuid.UUID] = set()
    incident_ids: set[uuid.UUID] = set()
    kecamatan: set[str] = set()
    for event in events:
        if isinstance(event, ReportSubmitted):
            report_ids.add(event.payload.report_id)
        elif isinstance(event, ReportTriaged):
            report_ids.add(event.payload.report_id)
            incident_ids.add(event.payload.incident_id)
        elif isinstance(event, AreaAlertLevelChanged):
            kecamatan.add(event.payload.kecamatan_code)
        elif isinstance(event, IncidentOpened | IncidentReportAdded):
            report_ids.add(event.payload.report.report_id)
            incident_ids.add(event.payload.incident_id)
        elif isinstance(event, IncidentMerged):
            report_ids.update(event.payload.report_ids)
            incident_ids.update((event.payload.incident_id, event.payload.merged_incident_id))
        elif isinstance(event, IncidentSplit):
            report_ids.update(event.payload.report_ids)
            incident_ids.update((event.payload.incident_id, event.payload.new_incident_id))
        elif isinstance(event, KeyedEvent | AlertDelivered | AlertFailed | IncidentUrgencyConfirmed
                        | IncidentUrgencyDismissed | EscalationStarted | EscalationStepReached | EscalationReminded
                        | EscalationExhausted | AlertAcknowledged):
            incident_ids.add(event.payload.incident_id)  # type: ignore[attr-defined]
    incident_ids.discard(None)  # type: ignore[arg-type]  # alerts about a kecamatan's level
    return report_ids, incident_ids, kecamatan
