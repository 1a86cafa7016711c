"""'Cek segera': reports whose urgency could not be ruled out wait for a desk officer's answer
until their deadline; unanswered by then, they are escalated. Pure: the pending checks are a
fold of the log, and every escalation of one check has one id (derived from its ReportTriaged),
so replicas that fire it at once, or an officer's answer racing the deadline, make one event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pyrsistent import PMap, pmap

from desk_shared.contracts.events import (
    Actor,
    Event,
    IncidentEscalated,
    IncidentEscalatedPayload,
    IncidentUrgencyConfirmed,
    IncidentUrgencyDismissed,
    Liaison,
    ReportSubmitted,
    ReportTriaged,
)
from desk_triage.decisions import summarise

ESCALATION = "urgent-check-escalation"


@dataclass(frozen=True)
class Reported:
    """What an escalation needs of the report itself."""

    summary: str
    village_code: str | None
    at: datetime


@dataclass(frozen=True)
class PendingCheck:
    triaged: ReportTriaged
    reported: Reported | None

    @property
    def due(self) -> datetime:
        assert self.triaged.payload.urgent_check_due is not None
        return self.triaged.payload.urgent_check_due


@dataclass(frozen=True)
class Checks:
    pending: PMap[uuid.UUID, PendingCheck] = field(default_factory=pmap)
    """By incident id (persistent maps: a change costs O(log n), not a copy)."""
    reports: PMap[uuid.UUID, Reported] = field(default_factory=pmap)
    """Reports not yet triaged, by id (a triage takes its report out: memory stays bounded)."""

    def due(self, now: datetime) -> list[PendingCheck]:
        return sorted((c for c in self.pending.values() if c.due <= now), key=lambda c: c.due)


_FOLDED = tuple(kind.subject for kind in (ReportSubmitted, ReportTriaged, IncidentEscalated, IncidentUrgencyConfirmed,
                                          IncidentUrgencyDismissed))


def relevant(subject: str) -> bool:
    """Whether a message on `subject` can change the checks (the rest of the log need not be decoded)."""
    return subject.startswith(_FOLDED)


def evolve(checks: Checks, event: Event) -> Checks:
    match event:
        case ReportSubmitted(payload=p):
            reported = Reported(summarise(p.text), p.village_code, event.occurred_at)
            return replace(checks, reports=checks.reports.set(p.report_id, reported))
        case ReportTriaged(payload=p):
            reports = checks.reports.discard(p.report_id)
            if p.urgent_check_due is None:
                return replace(checks, reports=reports)
            pending = PendingCheck(event, checks.reports.get(p.report_id))
            return replace(checks, reports=reports, pending=checks.pending.set(p.incident_id, pending))
        case IncidentEscalated(payload=p) | IncidentUrgencyConfirmed(payload=p) | IncidentUrgencyDismissed(payload=p) \
                if p.incident_id in checks.pending:
            return replace(checks, pending=checks.pending.discard(p.incident_id))
    return checks


def escalation(check: PendingCheck, liaisons: tuple[Liaison, ...], producer: str, reason: str,
               actor: Actor | None = None) -> IncidentEscalated:
    """The one escalation of this check, whether its deadline passed or an officer confirmed it
    (one id: derived from the check's ReportTriaged)."""
    p = check.triaged.payload
    reported = check.reported or Reported(f"Laporan kategori {p.category.label} (cek segera)", None,
                                          check.triaged.occurred_at)
    return IncidentEscalated.caused_by(check.triaged, producer, IncidentEscalatedPayload(
        incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
        village_code=reported.village_code, category=p.category, severity=p.severity, summary=reported.summary,
        liaisons=liaisons, reason=reason), what=ESCALATION, actor=actor)


HORIZON = timedelta(hours=6)
"""How far back a starting watcher reads the log: far more than any deadline."""
