"""Incidents: whether a desk officer must review the classification, its severity confidence and
the model that contributed (ReportTriaged's fields since issue 10).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("review_reasons", sa.JSON, nullable=True))
        batch.add_column(sa.Column("severity_confidence", sa.Float, nullable=True))
        batch.add_column(sa.Column("model_version", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for column in ("model_version", "severity_confidence", "review_reasons", "needs_review"):
            batch.drop_column(column)
