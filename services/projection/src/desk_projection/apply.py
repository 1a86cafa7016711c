"""How each event changes the read models: one function per event type, on an open Connection.

No wall clock and no randomness: every value comes from the event and its stream sequence,
so replaying the log from sequence 1 gives identical rows. Events arrive in stream order;
an event about something the projection has not seen (a triage of an unknown report) is
applied with what it carries rather than dropped."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from desk_projection.tables import incidents, reports, timeline
from desk_shared.events import (
    AlertDelivered,
    AlertFailed,
    Event,
    IncidentEscalated,
    ReportSubmitted,
    ReportTriaged,
)

log = logging.getLogger(__name__)

TRIAGED = "triaged"
ESCALATED = "escalated"


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _timeline(conn: Connection, seq: int, event: Event, report_id: uuid.UUID | None,
              incident_id: uuid.UUID | None, summary: dict[str, Any]) -> None:
    conn.execute(timeline.insert().values(
        stream_seq=seq, event_id=event.event_id, event_type=event.event_type, report_id=report_id,
        incident_id=incident_id, occurred_at=utc(event.occurred_at), recorded_at=utc(event.recorded_at),
        producer=event.producer, summary=summary))


def report_submitted(conn: Connection, seq: int, event: ReportSubmitted) -> None:
    p = event.payload
    exists = conn.execute(sa.select(reports.c.report_id).where(reports.c.report_id == p.report_id)).first()
    if exists:
        log.warning("report %s submitted again at seq %d: keeping the first submission", p.report_id, seq)
    else:
        conn.execute(reports.insert().values(
            report_id=p.report_id, incident_id=None, agency=p.agency, channel=p.channel,
            kecamatan_code=p.kecamatan_code, village_code=p.village_code, text=p.text,
            occurred_at=utc(p.occurred_at) if p.occurred_at else None, submitted_at=utc(event.occurred_at),
            stream_seq=seq))
    _timeline(conn, seq, event, p.report_id, None, {
        "agency": p.agency, "channel": p.channel, "kecamatan_code": p.kecamatan_code,
        "village_code": p.village_code})


def report_triaged(conn: Connection, seq: int, event: ReportTriaged) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    decision = {"category": p.category.value, "severity": p.severity.value, "confidence": p.confidence,
                "automated": p.automated, "rule_set_version": p.rule_set_version}
    existing = conn.execute(sa.select(incidents.c.incident_id)
                            .where(incidents.c.incident_id == p.incident_id)).first()
    if existing:  # a later decision about the same incident (re-triage, another report clustered in)
        conn.execute(incidents.update().where(incidents.c.incident_id == p.incident_id).values(
            **decision, evidence=list(p.evidence), updated_at=at, last_seq=seq))
    else:
        village = conn.execute(sa.select(reports.c.village_code)
                               .where(reports.c.report_id == p.report_id)).scalar_one_or_none()
        conn.execute(incidents.insert().values(
            incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            village_code=village, **decision, evidence=list(p.evidence), status=TRIAGED, opened_at=at,
            escalated_at=None, liaisons=[], alerts_delivered=0, alerts_failed=0, updated_at=at,
            opened_seq=seq, last_seq=seq))
    conn.execute(reports.update().where(reports.c.report_id == p.report_id).values(incident_id=p.incident_id))
    conn.execute(timeline.update()
                 .where(timeline.c.report_id == p.report_id, timeline.c.incident_id.is_(None))
                 .values(incident_id=p.incident_id))
    _timeline(conn, seq, event, p.report_id, p.incident_id, decision)


def incident_escalated(conn: Connection, seq: int, event: IncidentEscalated) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    liaisons = [liaison.model_dump(mode="json") for liaison in p.liaisons]
    changed = conn.execute(incidents.update().where(incidents.c.incident_id == p.incident_id).values(
        status=ESCALATED, escalated_at=sa.func.coalesce(incidents.c.escalated_at, at), liaisons=liaisons,
        updated_at=at, last_seq=seq)).rowcount
    if not changed:  # escalated without a triage the projection saw: open it from what the event says
        log.warning("incident %s escalated at seq %d without a known triage", p.incident_id, seq)
        conn.execute(incidents.insert().values(
            incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            village_code=p.village_code, category=p.category.value, severity=p.severity.value, confidence=None,
            automated=True, rule_set_version=None, evidence=[], status=ESCALATED, opened_at=at, escalated_at=at,
            liaisons=liaisons, alerts_delivered=0, alerts_failed=0, updated_at=at, opened_seq=seq, last_seq=seq))
    _timeline(conn, seq, event, p.report_id, p.incident_id,
              {"severity": p.severity.value, "liaisons": [liaison["id"] for liaison in liaisons]})


def _alert_outcome(conn: Connection, seq: int, event: AlertDelivered | AlertFailed, counter: sa.Column[int],
                   detail: dict[str, Any]) -> None:
    p = event.payload
    changed = conn.execute(incidents.update().where(incidents.c.incident_id == p.incident_id).values(
        {counter: counter + 1, incidents.c.updated_at: utc(event.occurred_at), incidents.c.last_seq: seq}))
    if not changed.rowcount:
        log.warning("%s at seq %d for unknown incident %s", event.event_type, seq, p.incident_id)
    report_id = conn.execute(sa.select(incidents.c.report_id)
                             .where(incidents.c.incident_id == p.incident_id)).scalar_one_or_none()
    _timeline(conn, seq, event, report_id, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison_id, "channel": p.channel,
        "attempts": p.attempts, **detail})


def alert_delivered(conn: Connection, seq: int, event: AlertDelivered) -> None:
    _alert_outcome(conn, seq, event, incidents.c.alerts_delivered, {"status_code": event.payload.status_code})


def alert_failed(conn: Connection, seq: int, event: AlertFailed) -> None:
    _alert_outcome(conn, seq, event, incidents.c.alerts_failed, {"reason": event.payload.reason})


_APPLIERS: dict[type[Event], Callable[[Connection, int, Any], None]] = {
    ReportSubmitted: report_submitted,
    ReportTriaged: report_triaged,
    IncidentEscalated: incident_escalated,
    AlertDelivered: alert_delivered,
    AlertFailed: alert_failed,
}


def apply_event(conn: Connection, seq: int, event: Event) -> bool:
    """Apply one event; False when this projection has nothing to do with its type."""
    applier = _APPLIERS.get(type(event))
    if applier is None:
        return False
    applier(conn, seq, event)
    return True
