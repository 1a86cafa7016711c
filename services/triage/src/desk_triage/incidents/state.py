"""Incidents as their events say they are. Pure: `evolve` folds one keyed event into the state
of its kecamatan (an `Area`), and a `Book` holds every kecamatan's. Nothing here reads a clock:
every time comes from an event, so a replay gives the same state."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Literal

from pyrsistent import PMap, pmap

from desk_shared.contracts.events import Event
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    IncidentAssigned,
    IncidentAssignmentOverdue,
    IncidentClosed,
    IncidentEscalated,
    IncidentMerged,
    IncidentOpened,
    IncidentProgressRecorded,
    IncidentReclassified,
    IncidentReopened,
    IncidentReport,
    IncidentReportAdded,
    IncidentSeverityChanged,
    IncidentSplit,
    IncidentVerified,
    KeyedEvent,
    Stage,
)
from desk_shared.contracts.taxonomy import Category, Severity

Status = Literal["open", "closed", "merged"]
# The maps are persistent (pyrsistent): an event changes one entry in O(log n), however many
# incidents and reports a kecamatan, or kecamatan the book, already holds.


@dataclass(frozen=True)
class Assignment:
    agency: str
    assigned_at: datetime
    acknowledge_by: datetime
    act_by: datetime
    progress: PMap[Stage, datetime] = field(default_factory=pmap)
    """When each stage was first reported."""
    overdue: frozenset[Stage] = frozenset()
    """Deadlines already reported missed (each reminds the desk once)."""

    def pending_deadlines(self) -> list[tuple[Stage, datetime]]:
        """The deadlines still running: not met, not yet reported missed."""
        done = set(self.progress) | self.overdue
        if Stage.FINISHED in self.progress:
            return []
        wanted = [(Stage.ACKNOWLEDGED, self.acknowledge_by), (Stage.ACTED, self.act_by)]
        return [(stage, due) for stage, due in wanted if stage not in done
                and not (stage is Stage.ACKNOWLEDGED and Stage.ACTED in self.progress)]


@dataclass(frozen=True)
class Incident:
    id: uuid.UUID
    kecamatan_code: str
    category: Category
    severity: Severity
    opened_at: datetime
    reports: tuple[IncidentReport, ...]
    status: Status = "open"
    verified: bool = False
    """'terverifikasi': an officer confirmed it; otherwise 'otomatis'."""
    category_by_person: bool = False
    """A person decided the category: automation no longer changes it."""
    severity_by_person: bool = False
    escalated: Severity | None = None
    """The highest severity it was escalated at, if any."""
    assignments: PMap[str, Assignment] = field(default_factory=pmap)
    updated_at: datetime | None = None

    # Derived once per version of an incident (an event makes a new one): grouping and levels ask
    # every open incident of a kecamatan for them on every report.
    @cached_property
    def last_report_at(self) -> datetime:
        return max((r.reported_at for r in self.reports), default=self.opened_at)

    @cached_property
    def villages(self) -> frozenset[str]:
        return frozenset(r.village_code for r in self.reports if r.village_code)

    @cached_property
    def tps(self) -> frozenset[tuple[str | None, str]]:
        """(village, TPS number) pairs its reports name."""
        return frozenset((r.village_code, r.tps) for r in self.reports if r.tps)

    @cached_property
    def kinds(self) -> frozenset[Category]:
        """Its category and its reports' own."""
        return frozenset({self.category, *(r.category for r in self.reports)})

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Area:
    """One kecamatan: its incidents, its alert level, and the log position of its last event."""

    kecamatan_code: str
    incidents: PMap[uuid.UUID, Incident] = field(default_factory=pmap)
    placed: PMap[uuid.UUID, uuid.UUID] = field(default_factory=pmap)
    """Report id -> the incident it is in."""
    level: AlertLevel = AlertLevel.AMAN
    level_since: datetime | None = None
    last_seq: int = 0
    """The stream sequence of the last event folded in (0: none yet): a writer's expected sequence."""

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.is_open]


@dataclass(frozen=True)
class Book:
    """Every kecamatan's area, by code."""

    areas: PMap[str, Area] = field(default_factory=pmap)
    position: int = 0

    def area(self, kecamatan_code: str) -> Area:
        return self.areas.get(kecamatan_code) or Area(kecamatan_code)

    def incident(self, incident_id: uuid.UUID) -> Incident | None:
        for area in self.areas.values():
            found = area.incidents.get(incident_id)
            if found is not None:
                return found
        return None


def fold(book: Book, event: Event, seq: int) -> Book:
    """The book after the event stored at stream sequence `seq` (any event: others leave it as it is)."""
    if not isinstance(event, KeyedEvent):
        return replace(book, position=max(seq, book.position))
    code = event.payload.kecamatan_code
    known = book.area(code)
    if seq <= known.last_seq:  # folded already (a writer folds its own appends before the log returns them)
        return book
    area = replace(evolve(known, event), last_seq=seq)
    return Book(book.areas.set(code, area), max(seq, book.position))


def evolve(area: Area, event: KeyedEvent) -> Area:
    """The area after one of its events."""
    at = event.occurred_at
    match event:
        case AreaAlertLevelChanged(payload=p):
            return replace(area, level=p.level, level_since=at)
        case IncidentOpened(payload=p):
            incident = Incident(p.incident_id, p.kecamatan_code, p.category, p.severity, at, (p.report,), updated_at=at)
            return _with(area, incident, placed={p.report.report_id: p.incident_id})
        case IncidentMerged(payload=p):
            target, merged = area.incidents.get(p.incident_id), area.incidents.get(p.merged_incident_id)
            if target is None or merged is None:
                return area
            moved = tuple(r for r in merged.reports if r.report_id in set(p.report_ids))
            area = _with(area, replace(merged, status="merged", reports=(), updated_at=at))
            return _with(area, replace(target, reports=target.reports + moved, updated_at=at),
                         placed={r.report_id: target.id for r in moved})
        case IncidentSplit(payload=p):
            source = area.incidents.get(p.incident_id)
            if source is None:
                return area
            leaving = set(p.report_ids)
            moved = tuple(r for r in source.reports if r.report_id in leaving)
            if not moved:
                return area
            new = Incident(p.new_incident_id, p.kecamatan_code, p.category, p.severity, at, moved, updated_at=at)
            area = _with(area, replace(source, reports=tuple(r for r in source.reports if r.report_id not in leaving),
                                       updated_at=at))
            return _with(area, new, placed={r.report_id: new.id for r in moved})
    incident = area.incidents.get(getattr(event.payload, "incident_id", None))  # type: ignore[arg-type]
    if incident is None:
        return area
    changed = _evolve_incident(incident, event)
    placed = ({event.payload.report.report_id: incident.id}
              if isinstance(event, IncidentReportAdded) else {})
    return _with(area, replace(changed, updated_at=at), placed=placed)


def _evolve_incident(incident: Incident, event: KeyedEvent) -> Incident:
    person = event.actor.kind == "person"
    match event:
        case IncidentReportAdded(payload=p):
            return replace(incident, reports=(*incident.reports, p.report))
        case IncidentReclassified(payload=p):
            return replace(incident, category=p.category, category_by_person=incident.category_by_person or person)
        case IncidentSeverityChanged(payload=p):
            return replace(incident, severity=p.severity, severity_by_person=incident.severity_by_person or person)
        case IncidentVerified(payload=p):
            return replace(incident, category=p.category, severity=p.severity, verified=True,
                           category_by_person=True, severity_by_person=True)
        case IncidentEscalated(payload=p):
            top = p.severity if incident.escalated is None or p.severity.rank > incident.escalated.rank \
                else incident.escalated
            return replace(incident, escalated=top)
        case IncidentClosed():
            return replace(incident, status="closed")
        case IncidentReopened():
            return replace(incident, status="open")
        case IncidentAssigned(payload=p):
            assignment = Assignment(p.agency, event.occurred_at, p.acknowledge_by, p.act_by)
            return replace(incident, assignments=incident.assignments.set(p.agency, assignment))
        case IncidentProgressRecorded(payload=p) if p.agency in incident.assignments:
            known = incident.assignments[p.agency]
            if p.stage in known.progress:
                return incident
            return _assign(incident, replace(known, progress=known.progress.set(p.stage, event.occurred_at)))
        case IncidentAssignmentOverdue(payload=p) if p.agency in incident.assignments:
            known = incident.assignments[p.agency]
            return _assign(incident, replace(known, overdue=known.overdue | {p.stage}))
    return incident


def _assign(incident: Incident, assignment: Assignment) -> Incident:
    return replace(incident, assignments=incident.assignments.set(assignment.agency, assignment))


def _with(area: Area, incident: Incident, placed: Mapping[uuid.UUID, uuid.UUID] | None = None) -> Area:
    return replace(area, incidents=area.incidents.set(incident.id, incident),
                   placed=area.placed.update(placed) if placed else area.placed)
