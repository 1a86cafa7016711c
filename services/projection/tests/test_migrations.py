"""A read-model database made before a migration keeps its rows and gains the new columns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from desk_projection.database import make_engine, migrate
from desk_projection.tables import incidents


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
