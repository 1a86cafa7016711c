"""Read models: reports, incidents, timeline, checkpoints.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("report_id", sa.Uuid, primary_key=True),
        sa.Column("incident_id", sa.Uuid, nullable=True),
        sa.Column("agency", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kecamatan_code", sa.String(8), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("occurred_at", _AT, nullable=True),
        sa.Column("submitted_at", _AT, nullable=False),
        sa.Column("stream_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_reports_incident_id", "reports", ["incident_id"])
    op.create_index("ix_reports_kecamatan_code", "reports", ["kecamatan_code"])

    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.Uuid, primary_key=True),
        sa.Column("report_id", sa.Uuid, nullable=False),
        sa.Column("kecamatan_code", sa.String(8), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("automated", sa.Boolean, nullable=False),
        sa.Column("rule_set_version", sa.String(100), nullable=True),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", _AT, nullable=False),
        sa.Column("escalated_at", _AT, nullable=True),
        sa.Column("liaisons", sa.JSON, nullable=False),
        sa.Column("alerts_delivered", sa.Integer, nullable=False),
        sa.Column("alerts_failed", sa.Integer, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("opened_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_incidents_kecamatan_code", "incidents", ["kecamatan_code"])
    op.create_index("ix_incidents_opened", "incidents", ["opened_at", "opened_seq"])

    op.create_table(
        "timeline",
        sa.Column("stream_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("report_id", sa.Uuid, nullable=True),
        sa.Column("incident_id", sa.Uuid, nullable=True),
        sa.Column("occurred_at", _AT, nullable=False),
        sa.Column("recorded_at", _AT, nullable=False),
        sa.Column("producer", sa.String(100), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
    )
    op.create_index("ix_timeline_report_id", "timeline", ["report_id"])
    op.create_index("ix_timeline_incident_id", "timeline", ["incident_id"])

    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("checkpoints", "timeline", "incidents", "reports"):
        op.drop_table(table)
