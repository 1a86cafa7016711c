"""Read queries over the read models (synchronous: FastAPI runs them in its thread pool)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from desk_projection.fulltext import matching_reports
from desk_projection.projector import CHECKPOINT
from desk_projection.tables import area_levels, assignments, checkpoints, incidents, reports, skipped_events, timeline
from desk_shared.contracts.agencies import Areas


@dataclass(frozen=True)
class IncidentFilter:
    kecamatan: str | None = None
    regency: str | None = None
    category: str | None = None
    severity: str | None = None
    status: str | None = None
    needs_review: bool | None = None
    scope: Areas | None = None
    """Only incidents in these areas (the asking person's)."""
    village: str | None = None
    agency: str | None = None
    """Only incidents assigned to this kind of agency."""
    opened_from: datetime | None = None
    opened_until: datetime | None = None
    text: str | None = None
    """Words every one of which a report of the incident holds (full-text search)."""
    numbers_searchable: bool = True
    """False for people who may not see personal data: a long number in the words is left out, so a
    phone number or NIK hidden from them cannot be found digit by digit."""

    def clauses(self, dialect: str = "sqlite") -> list[sa.ColumnElement[bool]]:
        """The WHERE clauses (full-text search is written in the database's own dialect)."""
        found: list[sa.ColumnElement[bool]] = []
        if self.scope is not None:
            code = incidents.c.kecamatan_code
            found.append(sa.or_(sa.false(), code.in_(self.scope.kecamatan),
                                *(code.startswith(f"{r}.", autoescape=True) for r in self.scope.regencies)))
        if self.kecamatan:
            found.append(incidents.c.kecamatan_code == self.kecamatan)
        if self.regency:
            found.append(incidents.c.kecamatan_code.startswith(f"{self.regency}.", autoescape=True))
        for column, value in ((incidents.c.category, self.category), (incidents.c.severity, self.severity),
                              (incidents.c.status, self.status)):
            if value:
                found.append(column == value)
        if self.needs_review is not None:
            found.append(incidents.c.needs_review.is_(self.needs_review))
        if self.village:
            found.append(incidents.c.village_code == self.village)
        if self.agency:
            found.append(incidents.c.incident_id.in_(
                sa.select(assignments.c.incident_id).where(assignments.c.agency == self.agency)))
        if self.opened_from:
            found.append(incidents.c.opened_at >= self.opened_from)
        if self.opened_until:
            found.append(incidents.c.opened_at < self.opened_until)
        if self.text is not None:
            found.append(incidents.c.incident_id.in_(matching_reports(self.text, dialect, self.numbers_searchable)))
        return found


def _incident_select() -> sa.Select[tuple[object, ...]]:
    return (sa.select(incidents, reports.c.text, reports.c.agency, reports.c.occurred_at.label("report_occurred_at"),
                      reports.c.submitted_at, reports.c.reporter)
            .select_from(incidents.outerjoin(reports, reports.c.report_id == incidents.c.report_id)))


def position(conn: Connection) -> int:
    found = conn.execute(sa.select(checkpoints.c.position).where(checkpoints.c.name == CHECKPOINT)).scalar()
    return int(found or 0)


def list_incidents(conn: Connection, where: IncidentFilter, limit: int, offset: int) -> tuple[Sequence[Row], int]:
    """Newest first: by when the incident was opened, then by its place in the log."""
    clauses = where.clauses(conn.dialect.name)
    total = conn.execute(sa.select(sa.func.count()).select_from(incidents).where(*clauses)).scalar_one()
    rows = conn.execute(_incident_select().where(*clauses)
                        .order_by(incidents.c.opened_at.desc(), incidents.c.opened_seq.desc())
                        .limit(limit).offset(offset)).all()
    return rows, int(total)


def stream_incidents(conn: Connection, where: IncidentFilter) -> Iterator[Row]:
    """Every incident matching `where`, newest first, read from the database as they are sent (a
    server-side cursor on PostgreSQL), never all held at once."""
    result = conn.execution_options(stream_results=True, yield_per=500).execute(
        _incident_select().where(*where.clauses(conn.dialect.name))
        .order_by(incidents.c.opened_at.desc(), incidents.c.opened_seq.desc()))
    yield from result


def open_checks(conn: Connection, scope: Areas, limit: int) -> Sequence[Row]:
    """'Cek segera' checks waiting for a desk officer, the most pressing deadline first."""
    where = IncidentFilter(scope=scope).clauses()
    return conn.execute(_incident_select().where(incidents.c.urgent_check == "open", *where)
                        .order_by(incidents.c.urgent_check_due, incidents.c.opened_seq).limit(limit)).all()


def get_incident(conn: Connection, incident_id: uuid.UUID) -> Row | None:
    return conn.execute(_incident_select().where(incidents.c.incident_id == incident_id)).first()


def incident_timeline(conn: Connection, incident_id: uuid.UUID) -> Sequence[Row]:
    return conn.execute(sa.select(timeline).where(timeline.c.incident_id == incident_id)
                        .order_by(timeline.c.stream_seq)).all()


OPEN = ("triaged", "escalated")
"""The statuses of incidents still being worked (not closed, not merged into another)."""


def incident_counts(conn: Connection) -> Sequence[Row]:
    """(kecamatan_code, category, severity, automated, n, last_opened_at) of open incidents, for every
    combination present."""
    return conn.execute(
        sa.select(incidents.c.kecamatan_code, incidents.c.category, incidents.c.severity, incidents.c.automated,
                  sa.func.count().label("n"), sa.func.max(incidents.c.opened_at).label("last_opened_at"))
        .where(incidents.c.status.in_(OPEN))
        .group_by(incidents.c.kecamatan_code, incidents.c.category, incidents.c.severity,
                  incidents.c.automated)).all()


def incident_reports(conn: Connection, incident_id: uuid.UUID) -> Sequence[Row]:
    """The reports of an incident, in the order they arrived, each with its own classification."""
    return conn.execute(sa.select(reports).where(reports.c.incident_id == incident_id)
                        .order_by(reports.c.stream_seq)).all()


def incident_assignments(conn: Connection, incident_id: uuid.UUID) -> Sequence[Row]:
    return conn.execute(sa.select(assignments).where(assignments.c.incident_id == incident_id)
                        .order_by(assignments.c.assigned_at, assignments.c.agency)).all()


def agency_queue(conn: Connection, agency: str, scope: Areas, open_only: bool, limit: int) -> Sequence[Row]:
    """An agency's assignments in the person's areas, oldest first, with their incident's state."""
    code = assignments.c.kecamatan_code
    clauses = [assignments.c.agency == agency, sa.or_(sa.false(), code.in_(scope.kecamatan), *(
        code.startswith(f"{r}.", autoescape=True) for r in scope.regencies))]
    if open_only:
        clauses += [assignments.c.finished_at.is_(None), incidents.c.status.in_(OPEN)]
    return conn.execute(
        sa.select(assignments, incidents.c.category, incidents.c.severity.label("incident_severity"),
                  incidents.c.status)
        .select_from(assignments.join(incidents, incidents.c.incident_id == assignments.c.incident_id))
        .where(*clauses).order_by(assignments.c.assigned_at, assignments.c.incident_id).limit(limit)).all()


def all_assignments(conn: Connection) -> Sequence[Row]:
    """Every assignment (for the agencies' response times)."""
    return conn.execute(sa.select(assignments, incidents.c.closed_at)
                        .select_from(assignments.join(incidents, incidents.c.incident_id == assignments.c.incident_id))
                        ).all()


def levels(conn: Connection) -> Sequence[Row]:
    return conn.execute(sa.select(area_levels).order_by(area_levels.c.kecamatan_code)).all()


def report_counts(conn: Connection, after: int = 0) -> Sequence[Row]:
    """(kecamatan_code, n, last_submitted_at, last_seq) per kecamatan, of the reports at log sequences
    above `after` (all of them by default)."""
    return conn.execute(
        sa.select(reports.c.kecamatan_code, sa.func.count().label("n"),
                  sa.func.max(reports.c.submitted_at).label("last_submitted_at"),
                  sa.func.max(reports.c.stream_seq).label("last_seq"))
        .where(reports.c.stream_seq > after).group_by(reports.c.kecamatan_code)).all()


def skipped(conn: Connection) -> tuple[int, Row | None]:
    """How many messages the read models lack, and the latest of them (stream_seq, event_type, reason)."""
    count = conn.execute(sa.select(sa.func.count()).select_from(skipped_events)).scalar_one()
    latest = conn.execute(sa.select(skipped_events.c.stream_seq, skipped_events.c.event_type, skipped_events.c.reason)
                          .order_by(skipped_events.c.stream_seq.desc()).limit(1)).first()
    return int(count), latest


def hourly_reports(conn: Connection, since: datetime) -> Sequence[Row]:
    """(kecamatan_code, category, hour, n): reports received since `since`, per kecamatan, their own
    category and the UTC hour they arrived in (a string on SQLite, a datetime on PostgreSQL)."""
    hour = (sa.func.strftime("%Y-%m-%d %H:00:00", reports.c.submitted_at) if conn.dialect.name == "sqlite"
            else sa.func.date_trunc(sa.literal_column("'hour'"), reports.c.submitted_at))
    return conn.execute(
        sa.select(reports.c.kecamatan_code, reports.c.category, hour.label("hour"), sa.func.count().label("n"))
        .where(reports.c.submitted_at >= since)
        .group_by(reports.c.kecamatan_code, reports.c.category, hour)).all()


def incident_times(conn: Connection, since: datetime) -> Sequence[Row]:
    """(kecamatan_code, opened_at, escalated_at, closed_at, the first acknowledgement by an assigned
    agency and by an alerted liaison) of incidents opened since `since`: the desk's response times."""
    by_agency = (sa.select(sa.func.min(assignments.c.acknowledged_at))
                 .where(assignments.c.incident_id == incidents.c.incident_id).scalar_subquery())
    by_liaison = (sa.select(sa.func.min(timeline.c.occurred_at))
                  .where(timeline.c.incident_id == incidents.c.incident_id,
                         timeline.c.event_type == "AlertAcknowledged").scalar_subquery())
    return conn.execute(sa.select(incidents.c.kecamatan_code, incidents.c.opened_at, incidents.c.escalated_at,
                                  incidents.c.closed_at, by_agency.label("agency_acknowledged_at"),
                                  by_liaison.label("liaison_acknowledged_at"))
                        .where(incidents.c.opened_at >= since, incidents.c.status != "merged")).all()
