"""What an archive's read models are "as of": the last stream sequence replayed into them, the time
the log stored that message, and the time an auditor asked for (`desk-projection replay --until`).
One row in an archive; present and empty in a live database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "as_of",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stream", sa.String(100), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("as_of")
