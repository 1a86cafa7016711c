"""The desk's commands on incidents, whoever carries them in: triage's HTTP API, or the board's
pages relayed over NATS (`command_door`). One table of actions, one way to decide and append them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from desk_shared.access.registry import Registry
from desk_shared.contracts.agencies import AgencyKind
from desk_shared.contracts.envelope import Actor, derived_id
from desk_shared.contracts.events import (
    Event,
    IncidentUrgencyConfirmed,
    IncidentUrgencyDismissed,
    UrgencyAnswerPayload,
)
from desk_shared.contracts.incidents import ClosingReason, Stage
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_triage.check_watcher import CheckWatcher
from desk_triage.incident_book import IncidentBook, StaleRead
from desk_triage.incidents import decide as d
from desk_triage.urgent_checks import escalation


@dataclass(frozen=True)
class Workbench:
    """What carrying out a command needs once triage is connected (None before)."""

    book: IncidentBook
    publisher: EventPublisher
    checks: CheckWatcher
    registry: Callable[[], Registry]


class Note(BaseModel):
    note: str | None = Field(None, max_length=1000, examples=["Dicek ke Panwascam"])


class UrgencyAnswer(Note):
    urgent: bool = Field(description="true: escalate now; false: not urgent, no escalation.")


class VerifyBody(Note):
    category: Category | None = Field(None, description="The category confirmed (default: as it is).")
    severity: Severity | None = Field(None, description="The severity confirmed (default: as it is).")


class CategoryBody(Note):
    category: Category


class SeverityBody(Note):
    severity: Severity


class AssignBody(Note):
    agency: AgencyKind = Field(description="The kind of agency that must act (the agency of that kind for the "
                                           "kecamatan acts for it).")


class NoteBody(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


class CloseBody(Note):
    reason: ClosingReason


class ReopenBody(BaseModel):
    note: str = Field(min_length=1, max_length=1000, examples=["Laporan baru: kejadian berulang"])


class MergeBody(Note):
    incident_id: uuid.UUID = Field(description="The incident to merge into this one (same kecamatan).")


class SplitBody(Note):
    report_ids: list[uuid.UUID] = Field(min_length=1, description="The reports that become a new incident.")
    category: Category | None = None
    severity: Severity | None = None


class ProgressBody(Note):
    stage: Stage


class OfficerProgressBody(ProgressBody):
    agency: AgencyKind = Field(description="The assigned agency the officer records it for.")


class Decided(BaseModel):
    incident_id: uuid.UUID
    events: list[str] = Field(description="The types of the events appended, in order.")
    new_incident_id: uuid.UUID | None = None


class Answered(BaseModel):
    incident_id: uuid.UUID
    escalated: bool


@dataclass(frozen=True)
class Action:
    """An officer's action: its body and the command it makes."""

    summary: str
    body: type[BaseModel]
    command: Callable[[BaseModel], d.Command]


ACTIONS: dict[str, Action] = {
    "verify": Action("Verify: 'otomatis' becomes 'terverifikasi' (optionally correcting it)", VerifyBody,
                     lambda b: d.Verify(b.category, b.severity, b.note)),  # type: ignore[attr-defined]
    "category": Action("Reclassify", CategoryBody, lambda b: d.Reclassify(b.category, b.note)),  # type: ignore[attr-defined]
    "severity": Action("Change the severity", SeverityBody,
                       lambda b: d.ChangeSeverity(b.severity, b.note)),  # type: ignore[attr-defined]
    "assignments": Action("Assign an agency", AssignBody, lambda b: d.Assign(b.agency, b.note)),  # type: ignore[attr-defined]
    "notes": Action("Add a note", NoteBody, lambda b: d.Note(b.note)),  # type: ignore[attr-defined]
    "close": Action("Close with a reason", CloseBody, lambda b: d.Close(b.reason, b.note)),  # type: ignore[attr-defined]
    "reopen": Action("Reopen", ReopenBody, lambda b: d.Reopen(b.note)),  # type: ignore[attr-defined]
    "merge": Action("Merge another incident of the kecamatan into this one", MergeBody,
                    lambda b: d.Merge(b.incident_id, b.note)),  # type: ignore[attr-defined]
    "split": Action("Split reports off into a new incident", SplitBody,
                    lambda b: d.Split(tuple(b.report_ids), b.category, b.severity, b.note)),  # type: ignore[attr-defined]
    "agency-progress": Action("Record an assigned agency's progress for it", OfficerProgressBody,
                              lambda b: d.RecordProgress(b.agency.value, b.stage, b.note)),  # type: ignore[attr-defined]
}
"""Every officer's action, by the name its route and its relayed form carry."""


class CommandRefused(Exception):
    """A command not carried out: `status` as HTTP would say it (404, 409, 503), `detail` why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def command_id(actor: Actor, idempotency_key: str | None) -> uuid.UUID:
    """A retried request with the same key decides with the same id, so its events are appended once."""
    return derived_id(f"{actor.kind}:{actor.id}", f"command:{idempotency_key}") if idempotency_key else uuid.uuid4()


async def carry_out(wb: Workbench, desk: d.Desk, incident_id: uuid.UUID, command: d.Command, actor: Actor,
                    idempotency_key: str | None, allowed: Callable[[str], bool]) -> Decided:
    """Decide `command` against the incident's kecamatan as the log has it and append on condition."""
    incident = wb.book.book.incident(incident_id)
    if incident is None or not allowed(incident.kecamatan_code):
        raise CommandRefused(404, f"no incident {incident_id} in your areas")
    decided_id = command_id(actor, idempotency_key)
    now = datetime.now(UTC)
    try:
        events, _ = await wb.book.append(wb.publisher, incident.kecamatan_code, lambda area: d.decide(
            area, incident_id, command, actor, decided_id, now, desk))
    except d.Refused as exc:
        raise CommandRefused(exc.status, str(exc)) from None
    except (PublishFailed, StaleRead, TimeoutError) as exc:
        raise CommandRefused(503, f"the decision was not recorded ({exc}); try again") from None
    new = derived_id(decided_id, "split") if isinstance(command, d.Split) else None
    return Decided(incident_id=incident_id, events=[e.event_type for e in events], new_incident_id=new)


async def answer_urgency(wb: Workbench, desk: d.Desk, incident_id: uuid.UUID, body: UrgencyAnswer, actor: Actor,
                         allowed: Callable[[str], bool]) -> Answered:
    """Confirm (escalate now) or dismiss an incident's open 'cek segera' check."""
    check = wb.checks.checks.pending.get(incident_id)
    if check is None or not allowed(check.triaged.payload.kecamatan_code):
        raise CommandRefused(409, f"no open 'cek segera' check for incident {incident_id}: answered, escalated at "
                                  "its deadline, or never asked")
    p = check.triaged.payload
    answer = UrgencyAnswerPayload(incident_id=incident_id, report_id=p.report_id, note=body.note)
    events: list[Event]
    if body.urgent:
        events = [IncidentUrgencyConfirmed.decided(actor, desk.producer, answer),
                  escalation(check, desk.liaisons(p.kecamatan_code), desk.producer, "urgency_confirmed", actor)]
    else:
        events = [IncidentUrgencyDismissed.decided(actor, desk.producer, answer)]
    try:
        await wb.publisher.publish_all(events)
    except PublishFailed as exc:
        raise CommandRefused(503, f"the answer was not recorded ({exc}); try again") from None
    return Answered(incident_id=incident_id, escalated=body.urgent)
