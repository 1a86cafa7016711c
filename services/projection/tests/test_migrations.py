"""A read-model database made before a migration keeps its rows and gains the new columns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from desk_projection.database import make_engine, migrate
from desk_projection.projector import CHECKPOINT, Projector
from desk_projection.tables import checkpoints, incidents, reports, skipped_events, timeline
from desk_shared.runtime.log_reader import Checkpoint, Delivered
from desk_testing import samples


def test_incidents_from_before_review_flags_read_as_not_flagged(database_url: str) -> None:
    engine = make_engine(database_url, writer=True)
    config = Config()
    config.set_main_option("script_location", "desk_projection:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    now, incident_id = datetime(2024, 11, 27, tzinfo=UTC), uuid.uuid4()
    old_columns = {"incident_id": incident_id, "report_id": uuid.uuid4(), "kecamatan_code": "11.13.01",
                   "village_code": None, "category": "violence", "severity": "kritis", "confidence": 0.9,
                   "automated": True, "rule_set_version": "skeleton-1", "evidence": [], "status": "triaged",
                   "opened_at": now, "escalated_at": None, "liaisons": [], "alerts_delivered": 0,
                   "alerts_failed": 0, "updated_at": now, "opened_seq": 1, "last_seq": 1}
    with engine.begin() as connection:  # only the columns revision 0001 has
        connection.execute(incidents.insert(), old_columns)
    migrate(engine)
    with engine.connect() as connection:
        row = connection.execute(sa.select(incidents).where(incidents.c.incident_id == incident_id)).one()
    assert (row.category, row.needs_review, row.review_reasons, row.model_version) == ("violence", False, None, None)
    engine.dispose()



def test_a_projection_from_before_fingerprints_keeps_its_rows_and_carries_on(database_url: str) -> None:
    """Revision 0003 on a database holding a projection: its rows and position stay, the position's
    fingerprint is unknown (nothing to compare until the next batch records one), nothing is skipped."""
    engine = make_engine(database_url, writer=True)
    config = Config()
    config.set_main_option("script_location", "desk_projection:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    submitted, triaged, escalated = samples.incident_story(3)[:3]
    p = triaged.payload
    at = triaged.occurred_at
    with engine.begin() as connection:  # what the release before 0003 wrote for the first two events
        connection.execute(checkpoints.insert().values(name=CHECKPOINT, position=2))
        connection.execute(reports.insert().values(
            report_id=p.report_id, incident_id=p.incident_id, agency="kpu", channel="http",
            kecamatan_code=p.kecamatan_code, village_code=None, text=submitted.payload.text, occurred_at=None,
            submitted_at=submitted.occurred_at, stream_seq=1))
        connection.execute(incidents.insert().values(
            incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code, village_code=None,
            category=p.category.value, severity=p.severity.value, confidence=p.confidence, automated=True,
            rule_set_version=p.rule_set_version, needs_review=False, review_reasons=[], severity_confidence=None,
            model_version=None, evidence=[], status="triaged", opened_at=at, escalated_at=None, liaisons=[],
            alerts_delivered=0, alerts_failed=0, updated_at=at, opened_seq=2, last_seq=2))
        connection.execute(timeline.insert(), [
            {"stream_seq": seq, "event_id": e.event_id, "event_type": e.event_type, "report_id": p.report_id,
             "incident_id": p.incident_id, "occurred_at": e.occurred_at, "recorded_at": e.recorded_at,
             "producer": e.producer, "summary": {}} for seq, e in ((1, submitted), (2, triaged))])
    before = rows_of(engine)
    migrate(engine)
    assert rows_of(engine) == before
    projector = Projector(engine)
    assert projector.checkpoint() == Checkpoint(2, None)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0008"
        assert connection.execute(sa.select(sa.func.count()).select_from(skipped_events)).scalar_one() == 0
    projector.apply_batch(2, [Delivered(3, escalated, escalated.address, "f" * 32)])
    assert projector.checkpoint() == Checkpoint(3, "f" * 32)
    with engine.connect() as connection:
        assert connection.execute(sa.select(incidents.c.status)).scalar_one() == "escalated"
    engine.dispose()


def rows_of(engine: Engine) -> list[list[tuple[object, ...]]]:
    """Every row of the tables revision 0002 had, in the columns it had."""
    queries = ("SELECT * FROM reports ORDER BY report_id", "SELECT * FROM incidents ORDER BY incident_id",
               "SELECT * FROM timeline ORDER BY stream_seq", "SELECT name, position FROM checkpoints ORDER BY name")
    later = {"reporter", "urgent_check", "urgent_check_due", "report_count", "closed_reason", "closed_at",
             "merged_into", "category", "severity", "confidence", "needs_review", "evidence"}  # added after 0002
    with engine.connect() as connection:
        return [[tuple(v for k, v in r._mapping.items() if k not in later) for r in connection.execute(sa.text(query))]
                for query in queries]
