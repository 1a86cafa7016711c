"""Loading the rows a batch touches, and writing what it changed: a few statements per batch.

Writes are one executemany per kind of change (psycopg 3 pipelines them: one round trip,
not one per row; sqlite3 loops in C). Statements are built once, with bound parameters."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from desk_projection.tables import area_levels, assignments, incidents, reports, skipped_events, timeline
from desk_projection.working_set import Row, TimelineRef, WorkingSet

IN_CHUNK = 500
"""Keys per IN (...) list: well under every database's limit on bound parameters."""


def _b(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(f"b_{name}")


_SELECT_REPORTS = sa.select(reports.c.report_id, reports.c.incident_id, reports.c.village_code).where(
    reports.c.report_id.in_(sa.bindparam("ids", expanding=True)))
_SELECT_TIMELINE = sa.select(timeline.c.stream_seq, timeline.c.report_id, timeline.c.incident_id).where(
    timeline.c.report_id.in_(sa.bindparam("ids", expanding=True)))
_SELECT_INCIDENTS = sa.select(incidents).where(incidents.c.incident_id.in_(sa.bindparam("ids", expanding=True)))
_SELECT_ASSIGNMENTS = sa.select(assignments).where(assignments.c.incident_id.in_(sa.bindparam("ids", expanding=True)))
_SELECT_LEVELS = sa.select(area_levels).where(area_levels.c.kecamatan_code.in_(sa.bindparam("ids", expanding=True)))

class Many:
    """An executemany of `statement` without SQLAlchemy's per-row parameter work (about a sixth of
    a batch's time on SQLite): the statement is compiled once per dialect, each value converted by
    its column type's own bind processor (what SQLAlchemy does, so the stored values are the same)
    and the rows handed to the driver as they are."""

    def __init__(self, statement: sa.Executable) -> None:
        self._statement = statement
        self._plans: dict[str, tuple[str, bool, list[tuple[str, Any]]]] = {}

    def _plan(self, dialect: sa.Dialect) -> tuple[str, bool, list[tuple[str, Any]]]:
        plan = self._plans.get(dialect.name)
        if plan is None:
            compiled = self._statement.compile(dialect=dialect)
            names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
            binds = [(name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                     for name in names]
            plan = self._plans[dialect.name] = (compiled.string, compiled.positional, binds)
        return plan

    def __call__(self, conn: Connection, rows: Sequence[Row]) -> None:
        if not rows:
            return
        sql, positional, binds = self._plan(conn.dialect)
        columns = []  # column by column: the loops run in C (map), only the conversions in Python
        for name, convert in binds:
            values = list(map(itemgetter(name), rows))
            columns.append(values if convert is None else list(map(convert, values)))
        if positional:
            params: list[Any] = list(zip(*columns, strict=True))
        else:
            names = [name for name, _ in binds]
            params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        conn.exec_driver_sql(sql, params)


_INCIDENT_COLUMNS = tuple(c.name for c in incidents.columns if c.name != "incident_id")
_INSERT_REPORTS = Many(reports.insert())
_INSERT_INCIDENTS = Many(incidents.insert())
_INSERT_TIMELINE = Many(timeline.insert())
_INSERT_SKIPPED = Many(skipped_events.insert())
_UPDATE_INCIDENTS = Many(incidents.update().where(incidents.c.incident_id == _b("incident_id"))
                         .values({name: _b(name) for name in _INCIDENT_COLUMNS}))
_LINK_REPORTS = Many(reports.update().where(reports.c.report_id == _b("report_id"))
                     .values(incident_id=_b("incident_id")))
_CLASSIFY_REPORTS = Many(reports.update().where(reports.c.report_id == _b("report_id")).values(
    {name: _b(name) for name in ("incident_id", "category", "severity", "confidence", "needs_review", "evidence")}))
_ASSIGNMENT_COLUMNS = tuple(c.name for c in assignments.columns if c.name not in ("incident_id", "agency"))
_INSERT_ASSIGNMENTS = Many(assignments.insert())
_UPDATE_ASSIGNMENTS = Many(assignments.update().where(
    sa.and_(assignments.c.incident_id == _b("incident_id"), assignments.c.agency == _b("agency")))
    .values({name: _b(name) for name in _ASSIGNMENT_COLUMNS}))
_LEVEL_COLUMNS = tuple(c.name for c in area_levels.columns if c.name != "kecamatan_code")
_INSERT_LEVELS = Many(area_levels.insert())
_UPDATE_LEVELS = Many(area_levels.update().where(area_levels.c.kecamatan_code == _b("kecamatan_code"))
                      .values({name: _b(name) for name in _LEVEL_COLUMNS}))
_LINK_TIMELINE = Many(timeline.update().where(timeline.c.stream_seq == _b("stream_seq"))
                      .values(incident_id=_b("incident_id")))


def _chunks(keys: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(keys)  # a stable order: the same batch reads the same way on every replica
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start:start + IN_CHUNK]


def load(conn: Connection, report_ids: set[uuid.UUID], incident_ids: set[uuid.UUID],
         kecamatan_codes: Iterable[str] = ()) -> WorkingSet:
    """The stored rows of these reports (with their timeline rows), incidents (with their
    assignments) and kecamatan levels, and of the incidents an earlier triage put these reports in."""
    found_reports: list[Row] = []
    refs: list[TimelineRef] = []
    for ids in _chunks(report_ids):
        found_reports += [dict(r._mapping) for r in conn.execute(_SELECT_REPORTS, {"ids": ids})]
        refs += [TimelineRef(r.stream_seq, r.report_id, r.incident_id)
                 for r in conn.execute(_SELECT_TIMELINE, {"ids": ids})]
    wanted = incident_ids | {ref.incident_id for ref in refs if ref.incident_id is not None}
    found_incidents: list[Row] = []
    found_assignments: list[Row] = []
    for ids in _chunks(wanted):
        found_incidents += [dict(r._mapping) for r in conn.execute(_SELECT_INCIDENTS, {"ids": ids})]
        found_assignments += [dict(r._mapping) for r in conn.execute(_SELECT_ASSIGNMENTS, {"ids": ids})]
    found_levels: list[Row] = []
    for codes in _chunks(kecamatan_codes):
        found_levels += [dict(r._mapping) for r in conn.execute(_SELECT_LEVELS, {"ids": codes})]
    return WorkingSet.loaded(found_reports, found_incidents, refs, found_assignments, found_levels)


def write(conn: Connection, rows: WorkingSet) -> None:
    """Everything the batch added or changed."""
    _INSERT_REPORTS(conn, list(rows.new_reports.values()))
    _LINK_REPORTS(conn, [{"b_report_id": r, "b_incident_id": i} for r, i in rows.relinked_report_rows()])
    _INSERT_INCIDENTS(conn, list(rows.new_incidents.values()))
    _UPDATE_INCIDENTS(conn, [{f"b_{name}": value for name, value in row.items()}
                             for row in rows.changed_incident_rows()])
    _CLASSIFY_REPORTS(conn, [{f"b_{name}": rows.reports[r].get(name) for name in (
        "report_id", "incident_id", "category", "severity", "confidence", "needs_review", "evidence")}
        for r in rows.classified_reports])
    _INSERT_ASSIGNMENTS(conn, [rows.assignments[k] for k in sorted(rows.new_assignments, key=str)])
    _UPDATE_ASSIGNMENTS(conn, [{f"b_{name}": value for name, value in rows.assignments[k].items()}
                               for k in sorted(rows.changed_assignments, key=str)])
    _INSERT_LEVELS(conn, [rows.levels[k] for k in sorted(rows.new_levels)])
    _UPDATE_LEVELS(conn, [{f"b_{name}": value for name, value in rows.levels[k].items()}
                          for k in sorted(rows.changed_levels)])
    _INSERT_TIMELINE(conn, rows.timeline)
    _LINK_TIMELINE(conn, [{"b_stream_seq": s, "b_incident_id": i} for s, i in rows.relinked_timeline.items()])


def record_skipped(conn: Connection, skipped: Sequence[Row]) -> None:
    _INSERT_SKIPPED(conn, skipped)
