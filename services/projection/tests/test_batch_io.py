"""The batch writer stores values exactly as SQLAlchemy's own executemany does (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_projection.batch_io import Many
from desk_projection.tables import incidents, timeline


def raw(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """What the driver hands back, without SQLAlchemy's result processing."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def incident(incident_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    at = datetime(2024, 11, 27, 7, 0, 1, 250, tzinfo=UTC)
    return {"incident_id": incident_id, "report_id": uuid.uuid4(), "kecamatan_code": "11.13.01",
            "village_code": None, "category": "violence", "severity": "kritis", "confidence": 0.1 + 0.2,
            "automated": True, "rule_set_version": "r-1", "needs_review": False, "review_reasons": None,
            "severity_confidence": None, "model_version": None, "evidence": ["kata \"kunci\"", "é"],
            "status": "escalated", "opened_at": at, "escalated_at": None,
            "liaisons": [{"id": "polsek:11.13.01", "agency": "polri", "unit": "Polsek"}], "alerts_delivered": 2,
            "alerts_failed": 0, "updated_at": at.astimezone(timezone(timedelta(hours=7))), "opened_seq": 1,
            "last_seq": 2**40, "urgent_check": "open", "urgent_check_due": at, "report_count": 3,
            "closed_reason": None, "closed_at": None, "merged_into": None, **changes}


def test_inserts_store_what_sqlalchemy_stores(engine: Engine) -> None:
    base = incident(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(incidents.insert(), [base])
        Many(incidents.insert())(conn, [{**base, "incident_id": uuid.uuid4()}])
    columns = ", ".join(c.name for c in incidents.columns if c.name != "incident_id")
    by_sqlalchemy, by_batch = raw(engine, f"SELECT {columns} FROM incidents")
    assert by_batch == by_sqlalchemy


def test_updates_and_timeline_rows_store_what_sqlalchemy_stores(engine: Engine) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    at = datetime(1999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    entry = {"event_id": uuid.uuid4(), "event_type": "AlertRequested", "report_id": None, "incident_id": first,
             "occurred_at": at, "recorded_at": at, "producer": "notify",
             "summary": {"alert_id": str(uuid.uuid4()), "message": "SIAGA: ke TPS 3", "attempts": 1, "ok": None}}
    change = {"severity": "tinggi", "review_reasons": ["low_confidence"], "escalated_at": at, "needs_review": True}
    with engine.begin() as conn:
        conn.execute(incidents.insert(), [incident(first), incident(second)])
        conn.execute(incidents.update().where(incidents.c.incident_id == first).values(
            {**incident(first, **change), "incident_id": first}))
        statement = incidents.update().where(incidents.c.incident_id == sa.bindparam("b_incident_id")).values(
            {c.name: sa.bindparam(f"b_{c.name}") for c in incidents.columns if c.name != "incident_id"})
        Many(statement)(conn, [{f"b_{k}": v for k, v in incident(second, **change).items()}])
        conn.execute(timeline.insert(), [{**entry, "stream_seq": 1}])
        Many(timeline.insert())(conn, [{**entry, "stream_seq": 2}])
    columns = ", ".join(c.name for c in incidents.columns if c.name not in ("incident_id", "report_id"))
    updated = raw(engine, f"SELECT {columns} FROM incidents")
    assert updated[0] == updated[1]
    entries = raw(engine, "SELECT event_id, event_type, report_id, incident_id, occurred_at, recorded_at, producer, "
                          "summary FROM timeline ORDER BY stream_seq")
    assert entries[0] == entries[1]
