"""The checkpoint remembers which message its position is (a fingerprint, to recognise a replaced
log), and the events the projection had to skip are recorded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))
    op.create_table(
        "skipped_events",
        sa.Column("stream_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=True),
        sa.Column("event_id", sa.Uuid, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("skipped_events")
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("fingerprint")
