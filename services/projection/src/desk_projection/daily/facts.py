"""What the daily situation report says, read from the read models.

The day's figures count the desk's local day (midnight to midnight in `tz`); the situation per
kecamatan and the open items are the read models as they stand when read, so a report for a
past day shows today's open items. Incidents merged into another are duplicates of it and are
not counted. Nothing here reads a reporter's details, and every free text (report texts, notes)
passes through `redact_personal`: the report goes to leaders who must not see personal data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from desk_projection import queries
from desk_projection.redaction import redact_personal
from desk_projection.responses import as_utc, severity_rank
from desk_projection.tables import assignments, incidents, reports, timeline
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.incidents import AlertLevel
from desk_shared.contracts.regions import RegionDirectory

DAY_SEVERITIES = ("kritis", "tinggi")
"""The incidents the report tells one by one."""
MERGED = "merged"
ACTION_TYPES = frozenset({
    "IncidentReportAdded", "IncidentReclassified", "IncidentSeverityChanged", "IncidentVerified", "IncidentNoted",
    "IncidentAssigned", "IncidentProgressRecorded", "IncidentAssignmentOverdue", "IncidentEscalated",
    "IncidentUrgencyConfirmed", "IncidentUrgencyDismissed", "EscalationStarted", "EscalationStepReached",
    "EscalationReminded", "EscalationExhausted", "AlertAcknowledged", "IncidentMerged", "IncidentSplit",
    "IncidentClosed", "IncidentReopened"})
"""Timeline entries that tell what was done about an incident (alert deliveries and the automatic
classification are the machinery's, not a decision)."""
ACTION_DETAILS = ("agency", "stage", "note", "reason", "category", "previous", "severity", "liaisons", "recipients",
                  "liaison_id", "via", "answer", "reports")
"""The parts of a timeline summary the report may show (never ids or personal data)."""
Namer = Callable[[str], str]
"""A kecamatan's name from its code."""


@dataclass(frozen=True)
class KecamatanState:
    code: str
    name: str
    level: str
    """aman, waspada, siaga or awas."""
    open_by_severity: Mapping[str, int]

    @property
    def open_total(self) -> int:
        return sum(self.open_by_severity.values())


@dataclass(frozen=True)
class KeyNumbers:
    reports: int
    opened: int
    escalated: int
    closed: int
    minutes_to_escalate: float | None
    """Median, over the incidents escalated that day, from opening to escalation."""
    minutes_to_acknowledge: float | None
    """Median, over the assignments acknowledged that day, from assignment to acknowledgement."""
    minutes_to_close: float | None
    """Median, over the incidents closed that day, from opening to closing."""


@dataclass(frozen=True)
class Action:
    at: datetime
    event_type: str
    details: Mapping[str, Any]
    """A subset of the timeline summary (ACTION_DETAILS), its texts redacted."""


@dataclass(frozen=True)
class CriticalIncident:
    incident_id: uuid.UUID
    opened_at: datetime
    kecamatan_code: str
    kecamatan_name: str
    village_name: str | None
    category: str
    severity: str
    status: str
    automated: bool
    report_count: int
    text: str
    """The opening report's text, redacted."""
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class OpenIncident:
    incident_id: uuid.UUID
    opened_at: datetime
    kecamatan_name: str
    category: str
    severity: str
    status: str


@dataclass(frozen=True)
class LateAssignment:
    incident_id: uuid.UUID
    agency: str
    kecamatan_name: str
    category: str
    severity: str
    missed: tuple[str, ...]
    """The stages still pending past their deadline: acknowledged, acted."""
    due: datetime
    """The earliest of the missed deadlines."""


@dataclass(frozen=True)
class OpenCheck:
    incident_id: uuid.UUID
    kecamatan_name: str
    category: str
    severity: str
    due: datetime | None


@dataclass(frozen=True)
class DayFacts:
    day: date
    tz: ZoneInfo
    read_at: datetime
    position: int
    """The last log sequence the read models reflected when read."""
    kecamatan: tuple[KecamatanState, ...]
    numbers: KeyNumbers
    critical: tuple[CriticalIncident, ...]
    open_incidents: tuple[OpenIncident, ...]
    late_assignments: tuple[LateAssignment, ...]
    open_checks: tuple[OpenCheck, ...]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as a half-open UTC interval (the read models store UTC)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def read_day_from(engine: Engine, day: date, tz: ZoneInfo, scope: Areas | None, directory: RegionDirectory, *,
                  regencies: frozenset[str] = frozenset(), now: datetime | None = None) -> DayFacts:
    """`read_day` in one snapshot: on PostgreSQL every statement of READ COMMITTED would see the
    latest commit, so counts and lists written by the projection in between could disagree."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        return read_day(conn, day, tz, scope, directory, regencies=regencies, now=now)


def read_day(conn: Connection, day: date, tz: ZoneInfo, scope: Areas | None, directory: RegionDirectory, *,
             regencies: frozenset[str] = frozenset(), now: datetime | None = None) -> DayFacts:
    """The report's facts for `day` in `scope` (None: everywhere). Quiet kecamatan are listed for
    `regencies` and the scope's own kecamatan only: a scope of whole provinces would list thousands.
    `now` decides which deadlines have passed (the clock's only use)."""
    read_at = now or datetime.now(UTC)
    start, end = day_bounds(day, tz)

    def name(code: str) -> str:
        area = directory.kecamatan_of(code)
        return area.name if area else code

    return DayFacts(
        day=day, tz=tz, read_at=read_at, position=queries.position(conn),
        kecamatan=_kecamatan(conn, scope, directory, regencies, name),
        numbers=_numbers(conn, scope, start, end),
        critical=_critical(conn, scope, start, end, directory, name),
        open_incidents=_open_incidents(conn, scope, name),
        late_assignments=_late_assignments(conn, scope, read_at, name),
        open_checks=_open_checks(conn, scope, name))


def _within(column: sa.ColumnElement[str], scope: Areas | None) -> sa.ColumnElement[bool]:
    if scope is None:
        return sa.true()
    return sa.or_(sa.false(), column.in_(scope.kecamatan),
                  *(column.startswith(f"{r}.", autoescape=True) for r in scope.regencies))


def _covers(scope: Areas | None, code: str) -> bool:
    return scope is None or scope.covers(code)


def _during(column: sa.ColumnElement[datetime], start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start, column < end)


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (as_utc(end) - as_utc(start)).total_seconds() / 60  # type: ignore[operator]


def _median(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(median(found), 2) if found else None


def _level_rank(level: str) -> int:
    try:
        return AlertLevel(level).rank
    except ValueError:
        return -1


def _kecamatan(conn: Connection, scope: Areas | None, directory: RegionDirectory, regencies: frozenset[str],
               name: Namer) -> tuple[KecamatanState, ...]:
    levels = {r.kecamatan_code: r.level for r in queries.levels(conn) if _covers(scope, r.kecamatan_code)}
    counts: dict[str, dict[str, int]] = {}
    for row in queries.incident_counts(conn):
        if _covers(scope, row.kecamatan_code):
            by_severity = counts.setdefault(row.kecamatan_code, {})
            by_severity[row.severity] = by_severity.get(row.severity, 0) + row.n
    seeded = [a.code for a in directory.kecamatan_in(regencies)] + list(scope.kecamatan if scope else ())
    codes = {c for c in seeded if _covers(scope, c)} | set(counts) | set(levels)
    states = [KecamatanState(code=c, name=name(c), level=levels.get(c, "aman"), open_by_severity=counts.get(c, {}))
              for c in codes]
    return tuple(sorted(states, key=lambda k: (
        -_level_rank(k.level), -max((severity_rank(s) for s, n in k.open_by_severity.items() if n), default=-1),
        -k.open_total, k.name, k.code)))


def _numbers(conn: Connection, scope: Areas | None, start: datetime, end: datetime) -> KeyNumbers:
    counted = sa.and_(_within(incidents.c.kecamatan_code, scope), incidents.c.status != MERGED)
    received = conn.execute(sa.select(sa.func.count()).select_from(reports).where(
        _during(reports.c.submitted_at, start, end), _within(reports.c.kecamatan_code, scope))).scalar_one()
    opened = conn.execute(sa.select(sa.func.count()).select_from(incidents).where(
        counted, _during(incidents.c.opened_at, start, end))).scalar_one()
    escalated = conn.execute(sa.select(incidents.c.opened_at, incidents.c.escalated_at).where(
        counted, _during(incidents.c.escalated_at, start, end))).all()
    closed = conn.execute(sa.select(incidents.c.opened_at, incidents.c.closed_at).where(
        counted, incidents.c.status == "closed", _during(incidents.c.closed_at, start, end))).all()
    acknowledged = conn.execute(sa.select(assignments.c.assigned_at, assignments.c.acknowledged_at).where(
        _within(assignments.c.kecamatan_code, scope), _during(assignments.c.acknowledged_at, start, end))).all()
    return KeyNumbers(
        reports=int(received), opened=int(opened), escalated=len(escalated), closed=len(closed),
        minutes_to_escalate=_median(_minutes(r.opened_at, r.escalated_at) for r in escalated),
        minutes_to_acknowledge=_median(_minutes(r.assigned_at, r.acknowledged_at) for r in acknowledged),
        minutes_to_close=_median(_minutes(r.opened_at, r.closed_at) for r in closed))


def _critical(conn: Connection, scope: Areas | None, start: datetime, end: datetime, directory: RegionDirectory,
              name: Namer) -> tuple[CriticalIncident, ...]:
    """The day's kritis and tinggi incidents: opened or escalated that day, oldest first."""
    rows = conn.execute(
        sa.select(incidents.c.incident_id, incidents.c.opened_at, incidents.c.kecamatan_code,
                  incidents.c.village_code, incidents.c.category, incidents.c.severity, incidents.c.status,
                  incidents.c.automated, incidents.c.report_count, reports.c.text)
        .select_from(incidents.outerjoin(reports, reports.c.report_id == incidents.c.report_id))
        .where(_within(incidents.c.kecamatan_code, scope), incidents.c.status != MERGED,
               incidents.c.severity.in_(DAY_SEVERITIES),
               sa.or_(_during(incidents.c.opened_at, start, end), _during(incidents.c.escalated_at, start, end)))
        .order_by(incidents.c.opened_at, incidents.c.opened_seq)).all()
    actions = _actions(conn, [r.incident_id for r in rows])
    found = []
    for row in rows:
        village = directory.village_of(row.village_code) if row.village_code else None
        found.append(CriticalIncident(
            incident_id=row.incident_id, opened_at=_utc(row.opened_at), kecamatan_code=row.kecamatan_code,
            kecamatan_name=name(row.kecamatan_code), village_name=village.name if village else None,
            category=row.category, severity=row.severity, status=row.status, automated=bool(row.automated),
            report_count=row.report_count, text=redact_personal(row.text or ""),
            actions=tuple(actions.get(row.incident_id, ()))))
    return tuple(found)


def _actions(conn: Connection, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Action]]:
    if not incident_ids:
        return {}
    found: dict[uuid.UUID, list[Action]] = {}
    rows = conn.execute(sa.select(timeline.c.incident_id, timeline.c.event_type, timeline.c.occurred_at,
                                  timeline.c.summary)
                        .where(timeline.c.incident_id.in_(incident_ids), timeline.c.event_type.in_(ACTION_TYPES))
                        .order_by(timeline.c.stream_seq))
    for row in rows:
        summary = row.summary or {}
        details = {key: _redacted(summary[key]) for key in ACTION_DETAILS if summary.get(key) not in (None, "", [])}
        found.setdefault(row.incident_id, []).append(Action(_utc(row.occurred_at), row.event_type, details))
    return found


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_personal(value)
    if isinstance(value, list):
        return tuple(_redacted(v) for v in value)
    return value


def _open_incidents(conn: Connection, scope: Areas | None, name: Namer) -> tuple[OpenIncident, ...]:
    """Every incident still being worked, whatever day it opened: the worst first, then the oldest."""
    rows = conn.execute(sa.select(incidents.c.incident_id, incidents.c.opened_at, incidents.c.kecamatan_code,
                                  incidents.c.category, incidents.c.severity, incidents.c.status)
                        .where(_within(incidents.c.kecamatan_code, scope), incidents.c.status.in_(queries.OPEN))
                        .order_by(incidents.c.opened_at, incidents.c.opened_seq)).all()
    found = [OpenIncident(incident_id=r.incident_id, opened_at=_utc(r.opened_at), kecamatan_name=name(
        r.kecamatan_code), category=r.category, severity=r.severity, status=r.status) for r in rows]
    return tuple(sorted(found, key=lambda i: -severity_rank(i.severity)))  # stable: oldest first within a severity


def _utc(at: datetime) -> datetime:
    """`as_utc` of a column that is never null."""
    found = as_utc(at)
    assert found is not None
    return found


def _missed(row: Row, now: datetime) -> list[tuple[str, datetime]]:
    """The stages still pending whose deadline passed (by the clock, or as recorded in the log)."""
    overdue = set(row.overdue or [])
    acknowledge_by, act_by = _utc(row.acknowledge_by), _utc(row.act_by)
    missed = []
    if row.acknowledged_at is None and row.acted_at is None and (acknowledge_by < now or "acknowledged" in overdue):
        missed.append(("acknowledged", acknowledge_by))
    if row.acted_at is None and (act_by < now or "acted" in overdue):
        missed.append(("acted", act_by))
    return missed


def _late_assignments(conn: Connection, scope: Areas | None, now: datetime, name: Namer) -> tuple[LateAssignment, ...]:
    """Assignments of open incidents an agency has not finished and is late on, the longest late first."""
    rows = conn.execute(
        sa.select(assignments, incidents.c.category, incidents.c.severity.label("incident_severity"))
        .select_from(assignments.join(incidents, incidents.c.incident_id == assignments.c.incident_id))
        .where(_within(assignments.c.kecamatan_code, scope), assignments.c.finished_at.is_(None),
               incidents.c.status.in_(queries.OPEN))
        .order_by(assignments.c.assigned_at, assignments.c.agency)).all()
    found = []
    for row in rows:
        missed = _missed(row, now)
        if missed:
            found.append(LateAssignment(
                incident_id=row.incident_id, agency=row.agency, kecamatan_name=name(row.kecamatan_code),
                category=row.category, severity=row.incident_severity, missed=tuple(stage for stage, _ in missed),
                due=min(due for _, due in missed)))
    return tuple(sorted(found, key=lambda a: a.due))


def _open_checks(conn: Connection, scope: Areas | None, name: Namer) -> tuple[OpenCheck, ...]:
    rows = conn.execute(sa.select(incidents.c.incident_id, incidents.c.kecamatan_code, incidents.c.category,
                                  incidents.c.severity, incidents.c.urgent_check_due)
                        .where(_within(incidents.c.kecamatan_code, scope), incidents.c.urgent_check == "open")
                        .order_by(incidents.c.urgent_check_due, incidents.c.opened_seq)).all()
    return tuple(OpenCheck(incident_id=r.incident_id, kecamatan_name=name(r.kecamatan_code), category=r.category,
                           severity=r.severity, due=as_utc(r.urgent_check_due)) for r in rows)
