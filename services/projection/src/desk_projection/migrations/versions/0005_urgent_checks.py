"""Incidents know their 'cek segera' check: open until a desk officer answers or its deadline passes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("urgent_check", sa.String(12), nullable=True))
        batch.add_column(sa.Column("urgent_check_due", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("urgent_check_due")
        batch.drop_column("urgent_check")
