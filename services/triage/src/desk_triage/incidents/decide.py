"""What happens to a kecamatan's incidents when a report arrives or an officer decides. Pure:
each decision is a function of the area (the state its events made), the input and the desk's
policies, and returns the events to append; the area after them is what `evolve` makes of them.

Automation never overrides a person: a category or severity an officer set is not changed by a
later report, and a closed incident is never reopened by one (a new report opens a new incident)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desk_shared.contracts.agencies import AgencyKind
from desk_shared.contracts.envelope import Actor, derived_id
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    AreaAlertLevelChangedPayload,
    ClosingReason,
    IncidentAssigned,
    IncidentAssignedPayload,
    IncidentAssignmentOverdue,
    IncidentAssignmentOverduePayload,
    IncidentClosed,
    IncidentClosedPayload,
    IncidentEscalated,
    IncidentEscalatedPayload,
    IncidentMerged,
    IncidentMergedPayload,
    IncidentNoted,
    IncidentNotedPayload,
    IncidentOpened,
    IncidentOpenedPayload,
    IncidentProgressRecorded,
    IncidentProgressRecordedPayload,
    IncidentReclassified,
    IncidentReclassifiedPayload,
    IncidentReopened,
    IncidentReopenedPayload,
    IncidentReport,
    IncidentReportAdded,
    IncidentReportAddedPayload,
    IncidentSeverityChanged,
    IncidentSeverityChangedPayload,
    IncidentSplit,
    IncidentSplitPayload,
    IncidentVerified,
    IncidentVerifiedPayload,
    KeyedEvent,
    Liaison,
    Stage,
)
from desk_shared.contracts.reports import ReportSubmitted
from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.incidents.grouping import DEFAULT_POLICY, GroupingPolicy, NewReport, place, tps_of
from desk_triage.incidents.levels import DEFAULT_LEVELS, LevelPolicy, assess
from desk_triage.incidents.routing import Routing, default_routing
from desk_triage.incidents.state import Area, Incident, evolve

Liaisons = Callable[[str], tuple[Liaison, ...]]


def no_liaisons(kecamatan_code: str) -> tuple[Liaison, ...]:
    return ()


@dataclass(frozen=True)
class Desk:
    """The policies decisions follow, and who is alerted for a kecamatan."""

    producer: str = "triage"
    grouping: GroupingPolicy = DEFAULT_POLICY
    routing: Routing = field(default_factory=default_routing)
    levels: LevelPolicy = DEFAULT_LEVELS
    liaisons: Liaisons = no_liaisons
    """The kecamatan's liaisons (Polsek, Koramil): alerted when one of its incidents escalates."""
    desk_liaisons: Liaisons = no_liaisons
    """The regency desk: alerted, with the kecamatan's liaisons, when its level rises to siaga or awas."""


class Refused(ValueError):
    """A command that cannot be carried out as asked; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Working:
    """Events being decided, and the area as they leave it."""

    area: Area
    desk: Desk
    at: datetime
    cause: ReportSubmitted | None = None
    command: tuple[uuid.UUID, Actor] | None = None
    events: list[KeyedEvent] = field(default_factory=list)

    def emit(self, kind: type[KeyedEvent], payload: Any, what: str) -> None:
        if self.cause is not None:
            event = kind.caused_by(self.cause, self.desk.producer, payload, what=what)
        else:
            assert self.command is not None
            command_id, actor = self.command
            event = kind.decided(actor, self.desk.producer, payload, command=(command_id, what), at=self.at)
        self.events.append(event)
        self.area = evolve(self.area, event)

    def incident(self, incident_id: uuid.UUID) -> Incident:
        return self.area.incidents[incident_id]


# ----------------------------------------------------------------------------- a report arrives
def report_entry(report: ReportSubmitted, category: Category, severity: Severity, summary: str) -> IncidentReport:
    p = report.payload
    return IncidentReport(report_id=p.report_id, reported_at=report.occurred_at, village_code=p.village_code,
                          tps=tps_of(p.text), category=category, severity=severity, summary=summary)


def on_report(area: Area, report: ReportSubmitted, entry: IncidentReport, desk: Desk) -> list[KeyedEvent]:
    """Open an incident for the report, or add it to the open incident of its happening; then
    whatever that changes: category and severity of a happening that grew, assignments,
    escalation, the kecamatan's alert level. Nothing if the report is already placed."""
    p = report.payload
    if p.report_id in area.placed:
        return []
    w = _Working(area, desk, report.occurred_at, cause=report)
    placement = place(area, NewReport(p.report_id, report.occurred_at, entry.village_code, entry.tps,
                                      entry.category, entry.summary), desk.grouping)
    if placement.incident_id is None:
        incident_id = incident_of(p.report_id)
        w.emit(IncidentOpened, IncidentOpenedPayload(
            kecamatan_code=p.kecamatan_code, incident_id=incident_id, report=entry, category=entry.category,
            severity=entry.severity), "IncidentOpened")
    else:
        incident_id = placement.incident_id
        w.emit(IncidentReportAdded, IncidentReportAddedPayload(
            kecamatan_code=p.kecamatan_code, incident_id=incident_id, report=entry, reason=placement.reason),
            "IncidentReportAdded")
        _grown(w, w.incident(incident_id), entry)
    _consequences(w, incident_id, entry.report_id, entry.summary)
    return w.events


def incident_of(report_id: uuid.UUID) -> uuid.UUID:
    """The id of the incident a report opens."""
    return derived_id(report_id, "incident")


def _grown(w: _Working, incident: Incident, entry: IncidentReport) -> None:
    """A report worse than the incident so far: the happening grew. Its severity rises, and its
    category follows the worse report (a quarrel that became a fight is violence now), unless a
    person decided them."""
    if entry.severity.rank <= incident.severity.rank:
        return
    why = f"report {entry.report_id}: {entry.category.value} {entry.severity.value}"
    if entry.category not in (incident.category, Category.OTHER) and not incident.category_by_person:
        w.emit(IncidentReclassified, IncidentReclassifiedPayload(
            kecamatan_code=incident.kecamatan_code, incident_id=incident.id, category=entry.category,
            previous=incident.category, reason=why), "IncidentReclassified")
    if not incident.severity_by_person:
        w.emit(IncidentSeverityChanged, IncidentSeverityChangedPayload(
            kecamatan_code=incident.kecamatan_code, incident_id=incident.id, severity=entry.severity,
            previous=incident.severity, reason=why), "IncidentSeverityChanged")


def _consequences(w: _Working, incident_id: uuid.UUID, report_id: uuid.UUID | None, summary: str | None,
                  reason: str = "severity") -> None:
    """What the incident's new state needs: agencies its category and severity now call for, an
    escalation if it became (more) urgent, and the kecamatan's level."""
    incident = w.incident(incident_id)
    if incident.is_open:
        for agency, route in w.desk.routing.agencies(incident.category, incident.severity).items():
            if agency not in incident.assignments:
                _assign(w, incident, agency, f"routing: {route}")
        incident = w.incident(incident_id)
        if incident.severity.escalates and (incident.escalated is None
                                            or incident.severity.rank > incident.escalated.rank):
            first = incident.reports[-1] if incident.reports else None
            w.emit(IncidentEscalated, IncidentEscalatedPayload(
                kecamatan_code=incident.kecamatan_code, incident_id=incident.id,
                report_id=report_id or (first.report_id if first else incident.id),
                village_code=next((r.village_code for r in incident.reports if r.village_code), None),
                category=incident.category, severity=incident.severity,
                summary=summary or (first.summary if first else incident.category.label),
                liaisons=w.desk.liaisons(incident.kecamatan_code), reason=reason,  # type: ignore[arg-type]
                reports=max(len(incident.reports), 1)), f"IncidentEscalated:{incident.severity.value}")
    level_change(w)


def _assign(w: _Working, incident: Incident, agency: str, reason: str) -> None:
    due = w.desk.routing.due(incident.severity, w.at)
    w.emit(IncidentAssigned, IncidentAssignedPayload(
        kecamatan_code=incident.kecamatan_code, incident_id=incident.id, agency=agency, reason=reason,
        acknowledge_by=due.acknowledge_by, act_by=due.act_by), f"IncidentAssigned:{agency}")


def level_change(w: _Working) -> None:
    """The kecamatan's level at the working time, if it changed; a rise to siaga or awas alerts."""
    assessment = assess(w.area, w.at, w.desk.levels)
    previous = w.area.level
    if assessment.level is previous:
        return
    alert = assessment.level.rank > previous.rank and assessment.level.rank >= AlertLevel.SIAGA.rank
    code = w.area.kecamatan_code
    liaisons = (*w.desk.liaisons(code), *w.desk.desk_liaisons(code)) if alert else ()
    w.emit(AreaAlertLevelChanged, AreaAlertLevelChangedPayload(
        kecamatan_code=code, level=assessment.level, previous=previous, score=assessment.score,
        reason=assessment.reason, liaisons=liaisons), f"AreaAlertLevelChanged:{assessment.level.value}")


# ----------------------------------------------------------------------------- time passes
def at_time(area: Area, at: datetime, desk: Desk, cause: tuple[uuid.UUID, Actor]) -> list[KeyedEvent]:
    """What the passing of time alone makes due at `at`: deadlines missed by assigned agencies
    (each reminds the desk once, at its deadline) and a level that decayed. Every event's id
    derives from `cause` and what it is, so replicas deciding it at once append it once."""
    events: list[KeyedEvent] = []
    for incident in sorted(area.open_incidents(), key=lambda i: str(i.id)):
        for agency, assignment in sorted(incident.assignments.items()):
            for stage, due in assignment.pending_deadlines():
                if due <= at:
                    what = f"overdue:{incident.id}:{agency}:{stage.value}:{assignment.assigned_at.isoformat()}"
                    events.append(IncidentAssignmentOverdue.decided(
                        Actor.service(desk.producer), desk.producer, IncidentAssignmentOverduePayload(
                            kecamatan_code=area.kecamatan_code, incident_id=incident.id, agency=agency,
                            stage=stage, due=due, category=incident.category, severity=incident.severity,
                            liaisons=desk.desk_liaisons(area.kecamatan_code)),  # type: ignore[arg-type]
                        command=(cause[0], what), at=due))
    w = _Working(area, desk, at, command=cause)
    level_change(w)
    return events + w.events


# ----------------------------------------------------------------------------- officers decide
@dataclass(frozen=True)
class Verify:
    category: Category | None = None
    severity: Severity | None = None
    note: str | None = None


@dataclass(frozen=True)
class Reclassify:
    category: Category
    note: str | None = None


@dataclass(frozen=True)
class ChangeSeverity:
    severity: Severity
    note: str | None = None


@dataclass(frozen=True)
class Assign:
    agency: AgencyKind
    note: str | None = None


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Close:
    reason: ClosingReason
    note: str | None = None


@dataclass(frozen=True)
class Reopen:
    note: str


@dataclass(frozen=True)
class Merge:
    other: uuid.UUID
    """The incident merged into this one."""
    note: str | None = None


@dataclass(frozen=True)
class Split:
    report_ids: Sequence[uuid.UUID]
    category: Category | None = None
    severity: Severity | None = None
    note: str | None = None


@dataclass(frozen=True)
class RecordProgress:
    agency: str
    stage: Stage
    note: str | None = None


Command = Verify | Reclassify | ChangeSeverity | Assign | Note | Close | Reopen | Merge | Split | RecordProgress


def decide(area: Area, incident_id: uuid.UUID, command: Command, actor: Actor, command_id: uuid.UUID,
           at: datetime, desk: Desk) -> list[KeyedEvent]:
    """The events an officer's (or an assigned agency's) command appends; `Refused` if it cannot be."""
    incident = area.incidents.get(incident_id)
    if incident is None:
        raise Refused(404, f"incident {incident_id} is not known in kecamatan {area.kecamatan_code}")
    if incident.status == "merged":
        raise Refused(409, f"incident {incident_id} was merged into another incident; act on that one")
    if not incident.is_open and not isinstance(command, Reopen | Note):
        raise Refused(409, f"incident {incident_id} is closed; reopen it first")
    w = _Working(area, desk, at, command=(command_id, actor))
    base = {"kecamatan_code": incident.kecamatan_code, "incident_id": incident_id}
    note = getattr(command, "note", None)
    reason = f"officer {actor.id}" + (f": {note}" if note else "")
    match command:
        case Verify(category=category, severity=severity, note=note):
            w.emit(IncidentVerified, IncidentVerifiedPayload(
                **base, category=category or incident.category, severity=severity or incident.severity, note=note),
                "IncidentVerified")
            _consequences(w, incident_id, None, None, "urgency_confirmed")
        case Reclassify(category=category):
            if category is incident.category:
                raise Refused(409, f"incident {incident_id} is already {category.value}")
            w.emit(IncidentReclassified, IncidentReclassifiedPayload(
                **base, category=category, previous=incident.category, reason=reason), "IncidentReclassified")
            _consequences(w, incident_id, None, None, "urgency_confirmed")
        case ChangeSeverity(severity=severity):
            if severity is incident.severity:
                raise Refused(409, f"incident {incident_id} is already {severity.value}")
            w.emit(IncidentSeverityChanged, IncidentSeverityChangedPayload(
                **base, severity=severity, previous=incident.severity, reason=reason), "IncidentSeverityChanged")
            _consequences(w, incident_id, None, None, "urgency_confirmed")
        case Assign(agency=agency):
            if agency.value in incident.assignments:
                raise Refused(409, f"incident {incident_id} is already assigned to {agency.value}")
            _assign(w, incident, agency.value, reason)
        case Note(text=text):
            w.emit(IncidentNoted, IncidentNotedPayload(**base, note=text), "IncidentNoted")
        case Close(reason=closing, note=note):
            w.emit(IncidentClosed, IncidentClosedPayload(**base, reason=closing, note=note), "IncidentClosed")
            level_change(w)
        case Reopen(note=note):
            if incident.is_open:
                raise Refused(409, f"incident {incident_id} is open")
            w.emit(IncidentReopened, IncidentReopenedPayload(**base, note=note), "IncidentReopened")
            _consequences(w, incident_id, None, None, "urgency_confirmed")
        case Merge(other=other, note=note):
            _merge(w, incident, other, note)
        case Split(report_ids=report_ids, category=category, severity=severity, note=note):
            _split(w, incident, report_ids, category, severity, note, command_id)
        case RecordProgress(agency=agency, stage=stage, note=note):
            if agency not in incident.assignments:
                raise Refused(409, f"incident {incident_id} is not assigned to {agency}")
            w.emit(IncidentProgressRecorded, IncidentProgressRecordedPayload(
                **base, agency=agency, stage=stage, note=note), f"IncidentProgressRecorded:{agency}:{stage.value}")
    return w.events


def _merge(w: _Working, target: Incident, other_id: uuid.UUID, note: str | None) -> None:
    other = w.area.incidents.get(other_id)
    if other_id == target.id:
        raise Refused(409, "an incident cannot be merged into itself")
    if other is None:
        raise Refused(409, f"incident {other_id} is not an incident of kecamatan {target.kecamatan_code}: only "
                           "incidents of one kecamatan can be merged")
    if not other.is_open:
        raise Refused(409, f"incident {other_id} is not open")
    w.emit(IncidentMerged, IncidentMergedPayload(
        kecamatan_code=target.kecamatan_code, incident_id=target.id, merged_incident_id=other_id,
        report_ids=tuple(r.report_id for r in other.reports), note=note), "IncidentMerged")
    merged = w.incident(target.id)
    worst = max((r.severity for r in merged.reports), key=lambda s: s.rank)
    if other.severity.rank > merged.severity.rank and not merged.severity_by_person:
        w.emit(IncidentSeverityChanged, IncidentSeverityChangedPayload(
            kecamatan_code=target.kecamatan_code, incident_id=target.id, severity=max(
                (worst, other.severity), key=lambda s: s.rank), previous=merged.severity,
            reason=f"merged with incident {other_id}"), "IncidentSeverityChanged")
    _consequences(w, target.id, None, None, "urgency_confirmed")


def _split(w: _Working, source: Incident, report_ids: Sequence[uuid.UUID], category: Category | None,
           severity: Severity | None, note: str | None, command_id: uuid.UUID) -> None:
    wanted = set(report_ids)
    known = {r.report_id for r in source.reports}
    if not wanted or not wanted <= known:
        raise Refused(422, f"reports {sorted(map(str, wanted - known))} are not reports of incident {source.id}")
    if wanted == known:
        raise Refused(422, "a split must leave at least one report in the incident")
    moved = [r for r in source.reports if r.report_id in wanted]
    new_id = derived_id(command_id, "split")
    w.emit(IncidentSplit, IncidentSplitPayload(
        kecamatan_code=source.kecamatan_code, incident_id=source.id, new_incident_id=new_id,
        report_ids=tuple(r.report_id for r in moved), category=category or moved[0].category,
        severity=severity or max((r.severity for r in moved), key=lambda s: s.rank), note=note), "IncidentSplit")
    _consequences(w, new_id, moved[-1].report_id, moved[-1].summary, "urgency_confirmed")

