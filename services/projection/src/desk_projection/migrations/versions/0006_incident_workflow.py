"""Incidents as the desk works them: several reports each (with their own classification),
verification, closing and merging, agencies' assignments with their deadlines, and the alert
level of each kecamatan.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("report_count", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("closed_reason", sa.String(40), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Uuid, nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("category", sa.String(40), nullable=True))
        batch.add_column(sa.Column("severity", sa.String(10), nullable=True))
        batch.add_column(sa.Column("confidence", sa.Float, nullable=True))
        batch.add_column(sa.Column("needs_review", sa.Boolean, nullable=True))
        batch.add_column(sa.Column("evidence", sa.JSON, nullable=True))
    op.create_table(
        "assignments",
        sa.Column("incident_id", sa.Uuid, primary_key=True),
        sa.Column("agency", sa.String(40), primary_key=True),
        sa.Column("kecamatan_code", sa.String(8), nullable=False, index=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledge_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("act_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.JSON, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Index("ix_assignments_agency", "agency", "assigned_at"),
    )
    op.create_table(
        "area_levels",
        sa.Column("kecamatan_code", sa.String(8), primary_key=True),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("previous", sa.String(10), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("area_levels")
    op.drop_table("assignments")
    with op.batch_alter_table("reports") as batch:
        for name in ("evidence", "needs_review", "confidence", "severity", "category"):
            batch.drop_column(name)
    with op.batch_alter_table("incidents") as batch:
        for name in ("merged_into", "closed_at", "closed_reason", "report_count"):
            batch.drop_column(name)
