"""How each event changes the read models: one function per event type, on an open Connection.

No wall clock and no randomness: every value comes from the event and its stream sequence,
so replaying the log from sequence 1 gives identical rows. Events arrive in stream order;
an event about something the projection has not seen (a triage of an unknown report) is
applied with what it carries rather than dropped.

The statements are built once, with bound parameters: building and cache-keying a statement
per event cost more than executing it (about 3x the throughput on SQLite)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from desk_projection.tables import incidents, reports, timeline
from desk_shared.contracts.events import (
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


def _p(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(f"p_{name}", type_=column.type)


_INSERT_REPORT = reports.insert()
_INSERT_INCIDENT = incidents.insert()
_INSERT_TIMELINE = timeline.insert()
_REPORT_VILLAGE = (sa.select(reports.c.village_code)
                   .where(reports.c.report_id == _p("report", reports.c.report_id)).scalar_subquery())
_INSERT_INCIDENT_WITH_VILLAGE = incidents.insert().values(village_code=_REPORT_VILLAGE)
_REPORT_STATE = sa.select(  # is the report known; which incident did an earlier triage put it in
    sa.select(reports.c.report_id).where(reports.c.report_id == _p("report", reports.c.report_id))
    .exists().label("known"),
    sa.select(timeline.c.incident_id)
    .where(timeline.c.report_id == _p("report", timeline.c.report_id), timeline.c.incident_id.is_not(None))
    .order_by(timeline.c.stream_seq.desc()).limit(1).scalar_subquery().label("incident_id"))
_LINK_REPORT = (reports.update().where(reports.c.report_id == _p("report", reports.c.report_id))
                .values(incident_id=_p("incident", reports.c.incident_id)))
_LINK_TIMELINE = (timeline.update()
                  .where(timeline.c.report_id == _p("report", timeline.c.report_id), timeline.c.incident_id.is_(None))
                  .values(incident_id=_p("incident", timeline.c.incident_id)))
_FILL_VILLAGE = (incidents.update()
                 .where(incidents.c.incident_id == _p("incident", incidents.c.incident_id),
                        incidents.c.village_code.is_(None))
                 .values(village_code=_p("village", incidents.c.village_code)))
_DECISION = ("category", "severity", "confidence", "automated", "rule_set_version", "evidence", "updated_at",
             "last_seq", "needs_review", "review_reasons", "severity_confidence", "model_version")
_RETRIAGE = (incidents.update().where(incidents.c.incident_id == _p("incident", incidents.c.incident_id))
             .values({name: _p(name, incidents.c[name]) for name in _DECISION}))
_ESCALATE = (incidents.update().where(incidents.c.incident_id == _p("incident", incidents.c.incident_id))
             .values(status=ESCALATED, liaisons=_p("liaisons", incidents.c.liaisons),
                     escalated_at=sa.func.coalesce(incidents.c.escalated_at, _p("at", incidents.c.escalated_at)),
                     updated_at=_p("at", incidents.c.updated_at), last_seq=_p("seq", incidents.c.last_seq)))


def _count_alert(counter: sa.Column[int]) -> sa.UpdateBase:
    return (incidents.update().where(incidents.c.incident_id == _p("incident", incidents.c.incident_id))
            .values({counter: counter + 1, incidents.c.updated_at: _p("at", incidents.c.updated_at),
                     incidents.c.last_seq: _p("seq", incidents.c.last_seq)})
            .returning(incidents.c.report_id))


_COUNT_DELIVERED = _count_alert(incidents.c.alerts_delivered)
_COUNT_FAILED = _count_alert(incidents.c.alerts_failed)


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _timeline(conn: Connection, seq: int, event: Event, report_id: uuid.UUID | None,
              incident_id: uuid.UUID | None, summary: dict[str, Any]) -> None:
    conn.execute(_INSERT_TIMELINE, {
        "stream_seq": seq, "event_id": event.event_id, "event_type": event.event_type, "report_id": report_id,
        "incident_id": incident_id, "occurred_at": utc(event.occurred_at), "recorded_at": utc(event.recorded_at),
        "producer": event.producer, "summary": summary})


def _new_incident(seq: int, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"escalated_at": None, "liaisons": [], "alerts_delivered": 0, "alerts_failed": 0, "opened_at": at,
            "updated_at": at, "opened_seq": seq, "last_seq": seq, **fields}


def report_submitted(conn: Connection, seq: int, event: ReportSubmitted) -> None:
    p = event.payload
    # incident_id is normally None: set when the log holds the report's triage before it (publishers racing).
    exists, incident_id = conn.execute(_REPORT_STATE, {"p_report": p.report_id}).one()
    if exists:
        log.warning("report %s submitted again at seq %d: keeping the first submission", p.report_id, seq)
    else:
        conn.execute(_INSERT_REPORT, {
            "report_id": p.report_id, "incident_id": incident_id, "agency": p.agency, "channel": p.channel,
            "kecamatan_code": p.kecamatan_code, "village_code": p.village_code, "text": p.text,
            "occurred_at": utc(p.occurred_at) if p.occurred_at else None, "submitted_at": utc(event.occurred_at),
            "stream_seq": seq})
    if incident_id is not None and p.village_code:
        conn.execute(_FILL_VILLAGE, {"p_incident": incident_id, "p_village": p.village_code})
    _timeline(conn, seq, event, p.report_id, incident_id, {
        "agency": p.agency, "channel": p.channel, "kecamatan_code": p.kecamatan_code,
        "village_code": p.village_code})


def report_triaged(conn: Connection, seq: int, event: ReportTriaged) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    summary = {"category": p.category.value, "severity": p.severity.value, "confidence": p.confidence,
               "automated": p.automated, "needs_review": p.needs_review, "rule_set_version": p.rule_set_version,
               "model_version": p.model_version}
    decision = {**summary, "evidence": list(p.evidence), "review_reasons": list(p.review_reasons),
                "severity_confidence": p.severity_confidence, "updated_at": at, "last_seq": seq}
    changed = conn.execute(_RETRIAGE, {"p_incident": p.incident_id, **{f"p_{k}": v for k, v in decision.items()}})
    if not changed.rowcount:  # the usual case; an update is a later decision (re-triage, a report clustered in)
        conn.execute(_INSERT_INCIDENT_WITH_VILLAGE, _new_incident(
            seq, at, **decision, incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            status=TRIAGED, p_report=p.report_id))
    conn.execute(_LINK_REPORT, {"p_report": p.report_id, "p_incident": p.incident_id})
    conn.execute(_LINK_TIMELINE, {"p_report": p.report_id, "p_incident": p.incident_id})
    _timeline(conn, seq, event, p.report_id, p.incident_id, summary)


def incident_escalated(conn: Connection, seq: int, event: IncidentEscalated) -> None:
    p = event.payload
    at = utc(event.occurred_at)
    liaisons = [liaison.model_dump(mode="json") for liaison in p.liaisons]
    changed = conn.execute(_ESCALATE, {"p_incident": p.incident_id, "p_liaisons": liaisons, "p_at": at, "p_seq": seq})
    if not changed.rowcount:  # escalated without a triage the projection saw: open it from what the event says
        log.warning("incident %s escalated at seq %d without a known triage", p.incident_id, seq)
        conn.execute(_INSERT_INCIDENT, _new_incident(
            seq, at, incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
            village_code=p.village_code, category=p.category.value, severity=p.severity.value, confidence=None,
            automated=True, rule_set_version=None, evidence=[], needs_review=False, review_reasons=[],
            severity_confidence=None, model_version=None, status=ESCALATED, escalated_at=at,
            liaisons=liaisons))
    _timeline(conn, seq, event, p.report_id, p.incident_id,
              {"severity": p.severity.value, "liaisons": [liaison["id"] for liaison in liaisons]})


def _alert_outcome(conn: Connection, seq: int, event: AlertDelivered | AlertFailed, count: sa.UpdateBase,
                   detail: dict[str, Any]) -> None:
    p = event.payload
    report_id = conn.execute(count, {"p_incident": p.incident_id, "p_at": utc(event.occurred_at),
                                     "p_seq": seq}).scalar_one_or_none()
    if report_id is None:
        log.warning("%s at seq %d for unknown incident %s", event.event_type, seq, p.incident_id)
    _timeline(conn, seq, event, report_id, p.incident_id, {
        "alert_id": str(p.alert_id), "liaison_id": p.liaison_id, "channel": p.channel,
        "attempts": p.attempts, **detail})


def alert_delivered(conn: Connection, seq: int, event: AlertDelivered) -> None:
    _alert_outcome(conn, seq, event, _COUNT_DELIVERED, {"status_code": event.payload.status_code})


def alert_failed(conn: Connection, seq: int, event: AlertFailed) -> None:
    _alert_outcome(conn, seq, event, _COUNT_FAILED, {"reason": event.payload.reason})


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
