"""The read-model tables as SQLAlchemy Core objects, for queries and writes.

The schema itself is created by the Alembic migrations in `migrations/`; these definitions
mirror the head revision. Every time stored here comes from an event (never the wall clock),
always in UTC, so replaying the log gives identical rows."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

reports = sa.Table(
    "reports", metadata,
    sa.Column("report_id", sa.Uuid, primary_key=True),
    sa.Column("incident_id", sa.Uuid, nullable=True, index=True),
    sa.Column("agency", sa.String(100), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("kecamatan_code", sa.String(8), nullable=False, index=True),
    sa.Column("village_code", sa.String(13), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("stream_seq", sa.BigInteger, nullable=False, index=True),
    sa.Column("reporter", sa.JSON, nullable=True),
    # the reporter's personal data exactly as sealed in the log: opened (and recorded) only when shown
    sa.Column("category", sa.String(40), nullable=True),  # the report's own automatic classification
    sa.Column("severity", sa.String(10), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("needs_review", sa.Boolean, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=True),
)

incidents = sa.Table(
    "incidents", metadata,
    sa.Column("incident_id", sa.Uuid, primary_key=True),
    sa.Column("report_id", sa.Uuid, nullable=False),
    sa.Column("kecamatan_code", sa.String(8), nullable=False, index=True),
    sa.Column("village_code", sa.String(13), nullable=True),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("automated", sa.Boolean, nullable=False),
    sa.Column("rule_set_version", sa.String(100), nullable=True),
    sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("review_reasons", sa.JSON, nullable=True),
    sa.Column("severity_confidence", sa.Float, nullable=True),
    sa.Column("model_version", sa.String(100), nullable=True),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("liaisons", sa.JSON, nullable=False),
    sa.Column("alerts_delivered", sa.Integer, nullable=False),
    sa.Column("alerts_failed", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("opened_seq", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("urgent_check", sa.String(12), nullable=True),  # 'cek segera': open, confirmed, dismissed, expired
    sa.Column("urgent_check_due", sa.DateTime(timezone=True), nullable=True),
    sa.Column("report_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("closed_reason", sa.String(40), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("merged_into", sa.Uuid, nullable=True),
    sa.Index("ix_incidents_opened", "opened_at", "opened_seq"),
)

assignments = sa.Table(
    "assignments", metadata,
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

area_levels = sa.Table(
    "area_levels", metadata,
    sa.Column("kecamatan_code", sa.String(8), primary_key=True),
    sa.Column("level", sa.String(10), nullable=False),
    sa.Column("previous", sa.String(10), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

timeline = sa.Table(
    "timeline", metadata,
    sa.Column("stream_seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.String(60), nullable=False),
    sa.Column("report_id", sa.Uuid, nullable=True, index=True),
    sa.Column("incident_id", sa.Uuid, nullable=True, index=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("producer", sa.String(100), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

checkpoints = sa.Table(
    "checkpoints", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=True),  # of the message at `position`; None: not known yet
)

skipped_events = sa.Table(  # messages of the log the read models lack: undecodable, or failed too often
    "skipped_events", metadata,
    sa.Column("stream_seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("event_type", sa.String(60), nullable=True),
    sa.Column("event_id", sa.Uuid, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
)

as_of = sa.Table(  # an archive's one row (desk-projection replay); empty in a live database
    "as_of", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("sequence", sa.BigInteger, nullable=False),  # the last stream sequence replayed
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),  # when the log stored that message
    sa.Column("asked_for", sa.DateTime(timezone=True), nullable=True),  # the time asked for; None: a sequence
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),  # the wall clock: not from an event
)

READ_MODEL_TABLES: tuple[sa.Table, ...] = (reports, incidents, assignments, area_levels, timeline, checkpoints,
                                           skipped_events)
"""What the log makes (`as_of` is not one: a replay records it beside them)."""
