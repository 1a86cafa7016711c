"""Replaying a log through triage's own decisions, for auditors: does every event triage derived
follow from its inputs?

The log is read in order. Its inputs are fed to the functions the service decides with
(`classify`, `decide.on_report`, `decide.decide`, `decide.at_time`, `urgent_checks.escalation`,
folded by `state.fold` and `urgent_checks.evolve`), with the incidents kept in memory and
nothing published; each event triage derived is compared with the one in the log (every field but
`recorded_at`).

- Inputs: ReportSubmitted; the officers' and agencies' decisions (their command, its time and its
  actor are read from the decision's first event, the rest of the decision is derived); the
  answers to 'cek segera' checks; the times of triage's own clock (a tick's time is the time of the
  level it set, else when its events were recorded; a deadline's escalation must not precede it).
- Where: triage appends each decision atomically on condition that nothing else was appended about
  its kecamatan since it read it, so the log's order is the order decisions were taken in, and each
  decision is taken here against the kecamatan as the log has it just before.
- After a difference the replay goes on from the log as it is (what triage saw), so each difference
  is reported where it is, not as a cascade of everything after it."""

from __future__ import annotations

import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AgencyKind
from desk_shared.contracts.envelope import (
    Actor,
    Event,
    UndecodableEvent,
    UnknownEventType,
    decode_event,
    derived_id,
)
from desk_shared.contracts.incidents import (
    AreaAlertLevelChanged,
    IncidentAssigned,
    IncidentAssignmentOverdue,
    IncidentClosed,
    IncidentEscalated,
    IncidentMerged,
    IncidentNoted,
    IncidentProgressRecorded,
    IncidentReclassified,
    IncidentReopened,
    IncidentSeverityChanged,
    IncidentSplit,
    IncidentUrgencyConfirmed,
    IncidentUrgencyDismissed,
    IncidentVerified,
    KeyedEvent,
)
from desk_shared.contracts.reports import ReportSubmitted, ReportTriaged
from desk_triage.classifier import Classification, LinearModel, RuleSet, classify
from desk_triage.decisions import summarise, triaged_event
from desk_triage.incident_book import MAX_GROUP
from desk_triage.incidents import decide as d
from desk_triage.incidents.state import Book, Incident, fold
from desk_triage.replay_compare import Difference, differences
from desk_triage.urgent_checks import Checks, PendingCheck, escalation
from desk_triage.urgent_checks import evolve as evolve_checks

READ = (ReportSubmitted.subject, ReportTriaged.subject, f"{subjects.EVENTS_ROOT}.incident.",
        f"{subjects.EVENTS_ROOT}.area.")
"""The subjects of the events triage decides from or derives (the rest is counted, never decoded)."""


AGENCY_KINDS = frozenset(kind.value for kind in AgencyKind)


class ReplayFailed(RuntimeError):
    """The log could not be read (exit 2)."""


def decoded(seq: int, subject: str, data: bytes) -> Event | None:
    """The event stored at `seq`, if it is one triage reads (None: another service's, or of a newer type)."""
    if not subject.startswith(READ):
        return None
    try:
        return decode_event(data)
    except UnknownEventType:
        return None
    except UndecodableEvent as exc:
        raise ReplayFailed(f"seq {seq} on {subject} is not an event: {exc}") from exc


class WrongVersions(RuntimeError):
    """The log was classified with other rules or another model than the replay has: it cannot check it."""


@dataclass
class _Report:
    event: ReportSubmitted
    classification: Classification | None = None
    placed: Incident | None = None
    """The incident as the report's own decision left it (what its ReportTriaged says)."""


@dataclass
class Tally:
    """What the replay went through."""

    messages: int = 0
    last_seq: int = 0
    inputs: Counter[str] = field(default_factory=Counter)
    compared: int = 0
    """Events triage derived, compared with the replay's."""
    untriaged: int = 0
    """Reports in the log without their ReportTriaged yet (the log ends before triage took them)."""


@dataclass
class _Unit:
    """Consecutive keyed events of one decision (an atomic append holds them in one run)."""

    kind: str
    key: uuid.UUID
    kecamatan: str
    events: list[tuple[int, KeyedEvent, bytes]]


class Replay:
    def __init__(self, rules: RuleSet, model: LinearModel | None, desk: d.Desk, check_within: timedelta) -> None:
        self._rules, self._model, self._desk, self._check_within = rules, model, desk, check_within
        self._service = Actor.service(desk.producer)
        self.book = Book()
        self.checks = Checks()
        self._reports: dict[uuid.UUID, _Report] = {}
        """ReportSubmitted not yet triaged, by event id."""
        self._checks_by_triaged: dict[uuid.UUID, PendingCheck] = {}
        self._confirmed_by: dict[uuid.UUID, Actor] = {}
        """Checks (by their ReportTriaged's id) an officer confirmed, and who did."""
        self._seen: set[uuid.UUID] = set()
        self._positions: dict[str, deque[int]] = {}
        """Each kecamatan's last stream positions (a tick's cause names the one it decided at)."""
        self._unit: _Unit | None = None
        self.found: list[Difference] = []
        self.tally = Tally()

    # ------------------------------------------------------------------ feeding the log
    def feed(self, seq: int, event: Event | None, data: bytes) -> None:
        """The message at `seq` (None: not an event triage reads)."""
        self.tally.messages += 1
        self.tally.last_seq = seq
        if isinstance(event, KeyedEvent):
            kind, key = self._cause_of(event)
            code = event.payload.kecamatan_code
            unit = self._unit
            if unit is not None and (unit.kind, unit.key, unit.kecamatan) == (kind, key, code):
                unit.events.append((seq, event, data))
                return
            self._flush()
            self._unit = _Unit(kind, key, code, [(seq, event, data)])
            return
        self._flush()
        if event is None:
            return
        self._seen.add(event.event_id)
        match event:
            case ReportSubmitted():
                self._reports[event.event_id] = _Report(event)
                self.tally.inputs["reports"] += 1
            case ReportTriaged():
                self._triaged(seq, event, data)
            case IncidentUrgencyConfirmed(payload=p):
                check = self.checks.pending.get(p.incident_id)
                if check is not None:
                    self._confirmed_by[check.triaged.event_id] = event.actor
                self.tally.inputs["cek segera answers"] += 1
            case IncidentUrgencyDismissed():
                self.tally.inputs["cek segera answers"] += 1
        self.checks = evolve_checks(self.checks, event)

    def finish(self) -> Tally:
        self._flush()
        self.tally.untriaged = len(self._reports)
        return self.tally

    # ------------------------------------------------------------------ one decision
    def _cause_of(self, event: KeyedEvent) -> tuple[str, uuid.UUID]:
        cause = event.causation_id
        if cause is not None and cause in self._reports:
            return "report", cause
        if isinstance(event, IncidentEscalated) and cause is not None and cause in self._checks_by_triaged:
            return "check", event.event_id
        if cause is None and event.actor.kind in ("person", "agency"):
            return "command", event.correlation_id
        if cause is None and event.actor == self._service:
            return "time", event.correlation_id
        return "unknown", event.event_id

    def _flush(self) -> None:
        unit, self._unit = self._unit, None
        if unit is None:
            return
        area = self.book.area(unit.kecamatan)
        first_seq, first = unit.events[0][0], unit.events[0][1]
        logged = unit.events
        try:
            expected = self._decide(unit, area)
        except d.Refused as refused:
            expected = None
            self.found.append(Difference(first_seq, first.event_id, first.event_type, "(decision)",
                                         "in the log", f"but triage's decisions refuse it: {refused}"))
        if expected is not None:
            fresh = [e for e in expected if e.event_id not in self._seen]
            self.found += differences(logged, fresh)
            self.tally.compared += len(logged)
        for seq, event, _ in logged:
            self._fold(seq, event)
        if unit.kind == "report":
            report = self._reports[unit.key]
            after = self.book.area(unit.kecamatan)
            placed = after.placed.get(report.event.payload.report_id)
            report.placed = after.incidents.get(placed) if placed else None

    def _fold(self, seq: int, event: KeyedEvent) -> None:
        code = event.payload.kecamatan_code
        self.book = fold(self.book, event, seq)
        self._positions.setdefault(code, deque([0], maxlen=4 * MAX_GROUP)).append(seq)
        self._seen.add(event.event_id)
        self.checks = evolve_checks(self.checks, event)

    def _decide(self, unit: _Unit, area: d.Area) -> list[KeyedEvent] | None:
        first = unit.events[0][1]
        if unit.kind == "report":
            report = self._reports[unit.key]
            classification = self._classified(report)
            entry = d.report_entry(report.event, classification.category, classification.severity,
                                   summarise(report.event.payload.text))
            return d.on_report(area, report.event, entry, self._desk)
        if unit.kind == "command":
            command = command_of(first)
            if command is None:
                raise d.Refused(422, f"{first.event_type} is not the first event of any command")
            self.tally.inputs["officers' decisions"] += 1
            return d.decide(area, first.payload.incident_id, command, first.actor,  # type: ignore[attr-defined]
                            first.correlation_id, first.occurred_at, self._desk)
        if unit.kind == "time":
            self.tally.inputs["deadline and level ticks"] += 1
            return self._tick(unit, area)
        if unit.kind == "check":
            self.tally.inputs["cek segera escalations"] += 1
            return self._check_escalation(unit)
        raise d.Refused(422, "no input of triage's explains it (not derived from a report, a command, "
                             "a deadline or a 'cek segera' check)")

    def _tick(self, unit: _Unit, area: d.Area) -> list[KeyedEvent]:
        first = unit.events[0][1]
        positions = self._positions.get(unit.kecamatan, (0,))
        cause = next((derived_id(f"{unit.kecamatan}:{s}", "time") for s in reversed(positions)
                      if derived_id(f"{unit.kecamatan}:{s}", "time") == first.correlation_id), None)
        if cause is None:
            raise d.Refused(422, "a decision of triage's clock at no position of its kecamatan")
        # The tick's time: the level it set is stamped with it; else it lies between the last deadline it
        # found missed and when its events were recorded.
        levels = [e.occurred_at for _, e, _ in unit.events if isinstance(e, AreaAlertLevelChanged)]
        overdue = [e.occurred_at for _, e, _ in unit.events if isinstance(e, IncidentAssignmentOverdue)]
        times: list[datetime] = levels[:1] or [first.recorded_at, *([max(overdue)] if overdue else [])]
        logged = [e.event_id for _, e, _ in unit.events]
        tried = [d.at_time(area, now, self._desk, (cause, self._service)) for now in times]
        return next((events for events in tried if [e.event_id for e in events] == logged), tried[0])

    def _check_escalation(self, unit: _Unit) -> list[KeyedEvent]:
        logged = unit.events[0][1]
        assert isinstance(logged, IncidentEscalated) and logged.causation_id is not None
        check = self._checks_by_triaged[logged.causation_id]
        code = check.triaged.payload.kecamatan_code
        if logged.payload.reason == "urgency_confirmed":
            confirmer = self._confirmed_by.get(check.triaged.event_id)
            if confirmer is None:
                raise d.Refused(409, "escalated as confirmed, but no officer confirmed this check before")
            return [escalation(check, self._desk.liaisons(code), self._desk.producer, "urgency_confirmed", confirmer)]
        if logged.recorded_at < check.due:
            raise d.Refused(409, f"escalated at {logged.recorded_at.isoformat()}, before its deadline "
                                 f"{check.due.isoformat()}")
        return [escalation(check, self._desk.liaisons(code), self._desk.producer, "urgent_check_expired")]

    # ------------------------------------------------------------------ a report's own classification
    def _classified(self, report: _Report) -> Classification:
        if report.classification is None:
            p = report.event.payload
            report.classification = classify(p.text, p.category_hint, self._rules, self._model)
        return report.classification

    def _triaged(self, seq: int, event: ReportTriaged, data: bytes) -> None:
        report = self._reports.pop(event.causation_id, None) if event.causation_id else None
        if report is None:
            self.found.append(Difference(seq, event.event_id, event.event_type, "causation_id",
                                         str(event.causation_id), "no ReportSubmitted before it in the log"))
            return
        classification = self._classified(report)
        p = event.payload
        if (p.rule_set_version, p.model_version) != (classification.rule_set_version, classification.model_version):
            raise WrongVersions(
                f"seq {seq}: report {p.report_id} was triaged with rules {p.rule_set_version} and model "
                f"{p.model_version or 'none'}; this replay has rules {classification.rule_set_version} and model "
                f"{classification.model_version or 'none'} (give the same ones: --rules, --model, --no-model)")
        incident = report.placed
        if incident is None:
            area = self.book.area(report.event.payload.kecamatan_code)
            placed = area.placed.get(report.event.payload.report_id)
            incident = area.incidents.get(placed) if placed else None
        if incident is None:
            self.found.append(Difference(seq, event.event_id, event.event_type, "payload.incident_id",
                                         str(p.incident_id), "none: the report is in no incident"))
            return
        check = self._check_within if incident.escalated is None else None
        expected = triaged_event(report.event, classification, incident.id, self._desk.producer, check)
        self.found += differences([(seq, event, data)], [expected])
        self.tally.compared += 1
        if p.urgent_check_due is not None:
            self._checks_by_triaged[event.event_id] = PendingCheck(event, self.checks.reports.get(p.report_id))


def command_of(event: KeyedEvent) -> d.Command | None:
    """The officer's (or agency's) command a decision's first event records."""
    match event:
        case IncidentVerified(payload=p):
            return d.Verify(p.category, p.severity, p.note)
        case IncidentReclassified(payload=p):
            return d.Reclassify(p.category, _note(event, p.reason))
        case IncidentSeverityChanged(payload=p):
            return d.ChangeSeverity(p.severity, _note(event, p.reason))
        case IncidentAssigned(payload=p) if p.agency in AGENCY_KINDS:
            return d.Assign(AgencyKind(p.agency), _note(event, p.reason))
        case IncidentNoted(payload=p):
            return d.Note(p.note)
        case IncidentClosed(payload=p):
            return d.Close(p.reason, p.note)
        case IncidentReopened(payload=p):
            return d.Reopen(p.note)
        case IncidentMerged(payload=p):
            return d.Merge(p.merged_incident_id, p.note)
        case IncidentSplit(payload=p):
            return d.Split(tuple(p.report_ids), p.category, p.severity, p.note)
        case IncidentProgressRecorded(payload=p):
            return d.RecordProgress(p.agency, p.stage, p.note)
    return None


def _note(event: Event, reason: str) -> str | None:
    """The note an officer gave, out of the reason `decide` wrote ("officer <id>: <note>")."""
    said = f"officer {event.actor.id}"
    if reason == said:
        return None
    return reason.removeprefix(f"{said}: ")

