"""Applying events to the read models, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_projection.projector import Delivered, Projector
from desk_projection.responses import as_utc
from desk_projection.tables import incidents, reports, timeline
from desk_shared.contracts.events import Event
from desk_shared.contracts.taxonomy import Severity
from desk_testing import samples


def project(engine: Engine, events: list[Event], first_seq: int = 1) -> Projector:
    projector = Projector(engine)
    start = projector.position()
    batch = [Delivered(first_seq + i, e) for i, e in enumerate(events)]
    projector.apply_batch(start, batch)
    return projector


def rows(engine: Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def test_a_report_and_its_triage_make_an_incident(engine: Engine) -> None:
    submitted = samples.report_submitted(1, kecamatan="11.13.01", village="11.13.01.2001")
    triaged = samples.report_triaged(submitted, 1, severity=Severity.SEDANG)
    project(engine, [submitted, triaged])

    [report] = rows(engine, reports)
    [incident] = rows(engine, incidents)
    assert report["report_id"] == submitted.payload.report_id
    assert report["incident_id"] == triaged.payload.incident_id
    assert report["text"] == submitted.payload.text
    assert as_utc(report["submitted_at"]) == submitted.occurred_at
    assert incident["status"] == "triaged"
    assert incident["village_code"] == "11.13.01.2001"
    assert incident["severity"] == "sedang"
    assert incident["category"] == triaged.payload.category.value
    assert incident["automated"] is True
    assert as_utc(incident["opened_at"]) == triaged.occurred_at
    assert incident["evidence"] == list(triaged.payload.evidence)
    assert (incident["opened_seq"], incident["last_seq"]) == (2, 2)
    assert [(t["stream_seq"], t["event_type"], t["incident_id"]) for t in rows(engine, timeline)] == [
        (1, "ReportSubmitted", triaged.payload.incident_id), (2, "ReportTriaged", triaged.payload.incident_id)]


def test_escalation_and_alert_outcomes(engine: Engine) -> None:
    story = samples.incident_story(3)  # severity kritis: escalated, TNI alert fails
    assert [e.event_type for e in story] == ["ReportSubmitted", "ReportTriaged", "IncidentEscalated",
                                             "AlertDelivered", "AlertFailed"]
    project(engine, story)

    [incident] = rows(engine, incidents)
    assert incident["status"] == "escalated"
    assert as_utc(incident["escalated_at"]) == story[2].occurred_at
    assert [liaison["id"] for liaison in incident["liaisons"]] == ["polsek:11.13.04", "koramil:11.13.04"]
    assert (incident["alerts_delivered"], incident["alerts_failed"]) == (1, 1)
    assert incident["last_seq"] == 5
    entries = rows(engine, timeline)
    assert [t["event_type"] for t in entries] == [e.event_type for e in story]
    assert {t["incident_id"] for t in entries} == {incident["incident_id"]}
    assert {t["report_id"] for t in entries} == {incident["report_id"]}
    assert entries[4]["summary"]["reason"] == "webhook answered 503"


def test_a_triage_ahead_of_its_report_is_linked_when_the_report_arrives(engine: Engine) -> None:
    submitted = samples.report_submitted(5)
    triaged = samples.report_triaged(submitted, 5)
    project(engine, [triaged, submitted])

    [report] = rows(engine, reports)
    [incident] = rows(engine, incidents)
    assert report["incident_id"] == incident["incident_id"]
    assert incident["village_code"] == submitted.payload.village_code
    assert {t["incident_id"] for t in rows(engine, timeline)} == {incident["incident_id"]}


def test_a_second_submission_of_a_report_keeps_the_first(engine: Engine) -> None:
    first = samples.report_submitted(7, text="laporan pertama")
    again = first.model_copy(update={"event_id": samples.derived_id(first.event_id, "again"),
                                     "payload": first.payload.model_copy(update={"text": "laporan kedua"})})
    project(engine, [first, again])
    assert [r["text"] for r in rows(engine, reports)] == ["laporan pertama"]
    assert len(rows(engine, timeline)) == 2


def test_no_wall_clock_in_rows(engine: Engine) -> None:
    events = samples.sample_log(8)
    project(engine, events)
    moments = {e.occurred_at for e in events} | {e.recorded_at for e in events}
    moments |= {e.payload.occurred_at for e in events if hasattr(e.payload, "agency") and e.payload.occurred_at}
    for table in (reports, incidents, timeline):
        for row in rows(engine, table):
            for value in row.values():
                if isinstance(value, datetime):
                    assert as_utc(value) in moments, (table.name, value)
    assert all(m.tzinfo is UTC or m.utcoffset() is not None for m in moments)
