"""Full-text search over the reports' text: an FTS5 index kept by triggers on SQLite, a GIN
index over the text's `simple` tsvector on PostgreSQL (no stemming: Bahasa Indonesia has no
PostgreSQL dictionary, and officers search for the words they saw). And reports by the time they
arrived (the board's 24-hour trends and charts) and by log position (the board counts only new ones).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE reports_fts USING fts5(text, content='reports', content_rowid='rowid', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER reports_fts_insert AFTER INSERT ON reports BEGIN "
    "INSERT INTO reports_fts(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER reports_fts_delete AFTER DELETE ON reports BEGIN "
    "INSERT INTO reports_fts(reports_fts, rowid, text) VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER reports_fts_update AFTER UPDATE OF text ON reports BEGIN "
    "INSERT INTO reports_fts(reports_fts, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO reports_fts(rowid, text) VALUES (new.rowid, new.text); END",
    "INSERT INTO reports_fts(reports_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = ("DROP TRIGGER reports_fts_update", "DROP TRIGGER reports_fts_delete", "DROP TRIGGER reports_fts_insert",
               "DROP TABLE reports_fts")


def upgrade() -> None:
    op.create_index("ix_reports_submitted_at", "reports", ["submitted_at"])
    op.create_index("ix_reports_stream_seq", "reports", ["stream_seq"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    else:
        op.execute("CREATE INDEX ix_reports_text_search ON reports USING gin (to_tsvector('simple', text))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        op.drop_index("ix_reports_text_search", table_name="reports")
    op.drop_index("ix_reports_submitted_at", table_name="reports")
    op.drop_index("ix_reports_stream_seq", table_name="reports")
