"""The desk's commands on incidents (triage's HTTP API): desk officers verify, reclassify, change
severity, assign, note, close, reopen, merge and split; answer 'cek segera' checks; assigned
agencies (with their API key) or officers for them record progress. Every command is decided
against the incident's kecamatan as the log has it and appended on condition; the person (or
agency) is the actor of every event. A retried request with the same `Idempotency-Key` appends
its events once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from desk_access import problems
from desk_access.http_guard import AUTH_RESPONSES, requires
from desk_shared.access.people import Capability, Principal
from desk_shared.access.registry import Denied, Registry, authenticate
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

Officer = Annotated[Principal, Depends(requires(Capability.DECIDE))]
AGENCY_KEY = HTTPBearer(auto_error=False, scheme_name="agencyKey",
                        description="An assigned agency's API key (dpk_...), as it submits reports with.")
RETRY = {"Retry-After": "2"}


@dataclass(frozen=True)
class Workbench:
    """What the API needs once triage is connected (None before)."""

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


COMMAND_RESPONSES: dict[int | str, dict[str, object]] = {
    **AUTH_RESPONSES, 404: {"description": "No such incident in the person's areas"},
    409: {"description": "The incident's state does not allow it (closed, merged, already so)"},
    422: {"description": "The body is not valid"}}


def create_app(bench: Callable[[], Workbench | None], desk: d.Desk) -> FastAPI:
    app = FastAPI(title="Desk Pemilu — triage", version="2",
                  description="Desk officers' decisions on incidents, 'cek segera' answers, agencies' progress.")
    problems.install(app)

    def ready() -> Workbench:
        found = bench()
        if found is None:
            raise problems.still_starting("triage")
        return found

    async def run(incident_id: uuid.UUID, command: d.Command, actor: Actor, key: str | None,
                  allowed: Callable[[str], bool]) -> Decided:
        wb = ready()
        incident = wb.book.book.incident(incident_id)
        if incident is None or not allowed(incident.kecamatan_code):
            raise HTTPException(404, f"no incident {incident_id} in your areas")
        command_id = derived_id(f"{actor.kind}:{actor.id}", f"command:{key}") if key else uuid.uuid4()
        now = datetime.now(UTC)
        try:
            events, _ = await wb.book.append(wb.publisher, incident.kecamatan_code, lambda area: d.decide(
                area, incident_id, command, actor, command_id, now, desk))
        except d.Refused as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except (PublishFailed, StaleRead, TimeoutError) as exc:
            raise HTTPException(503, f"the decision was not recorded ({exc}); try again", RETRY) from None
        new = derived_id(command_id, "split") if isinstance(command, d.Split) else None
        return Decided(incident_id=incident_id, events=[e.event_type for e in events], new_incident_id=new)

    def officer_route(path: str, summary: str, body: type[BaseModel],
                      command: Callable[[BaseModel], d.Command]) -> None:
        async def endpoint(incident_id: uuid.UUID, payload: BaseModel, officer: Officer,
                           idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Decided:
            return await run(incident_id, command(payload), officer.actor, idempotency_key, officer.sees)

        endpoint.__doc__ = summary
        endpoint.__annotations__["payload"] = body  # the body model of this route (a string under PEP 563)
        app.post(f"/v1/incidents/{{incident_id}}/{path}", response_model=Decided, status_code=202, summary=summary,
                 tags=["keputusan petugas"], responses=COMMAND_RESPONSES, name=path)(endpoint)

    officer_route("verify", "Verify: 'otomatis' becomes 'terverifikasi' (optionally correcting it)", VerifyBody,
                  lambda b: d.Verify(b.category, b.severity, b.note))  # type: ignore[attr-defined]
    officer_route("category", "Reclassify", CategoryBody, lambda b: d.Reclassify(b.category, b.note))  # type: ignore[attr-defined]
    officer_route("severity", "Change the severity", SeverityBody,
                  lambda b: d.ChangeSeverity(b.severity, b.note))  # type: ignore[attr-defined]
    officer_route("assignments", "Assign an agency", AssignBody, lambda b: d.Assign(b.agency, b.note))  # type: ignore[attr-defined]
    officer_route("notes", "Add a note", NoteBody, lambda b: d.Note(b.note))  # type: ignore[attr-defined]
    officer_route("close", "Close with a reason", CloseBody, lambda b: d.Close(b.reason, b.note))  # type: ignore[attr-defined]
    officer_route("reopen", "Reopen", ReopenBody, lambda b: d.Reopen(b.note))  # type: ignore[attr-defined]
    officer_route("merge", "Merge another incident of the kecamatan into this one", MergeBody,
                  lambda b: d.Merge(b.incident_id, b.note))  # type: ignore[attr-defined]
    officer_route("split", "Split reports off into a new incident", SplitBody,
                  lambda b: d.Split(tuple(b.report_ids), b.category, b.severity, b.note))  # type: ignore[attr-defined]

    officer_route("agency-progress", "Record an assigned agency's progress for it", OfficerProgressBody,
                  lambda b: d.RecordProgress(b.agency.value, b.stage, b.note))  # type: ignore[attr-defined]

    @app.post("/v1/incidents/{incident_id}/progress", response_model=Decided, status_code=202,
              tags=["tindak lanjut instansi"], responses=COMMAND_RESPONSES)
    async def progress(incident_id: uuid.UUID, body: ProgressBody,
                       key: Annotated[HTTPAuthorizationCredentials | None, Security(AGENCY_KEY)],
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Decided:
        """An assigned agency records its progress (acknowledged, acted, finished) with its API key."""
        agency = authenticate(ready().registry(), key.credentials if key else None)
        if isinstance(agency, Denied):
            raise HTTPException(401, f"API key refused: {agency.reason}",
                                headers={"WWW-Authenticate": 'Bearer realm="desk-pemilu"'})
        return await run(incident_id, d.RecordProgress(agency.kind.value, body.stage, body.note),
                         Actor.agency(agency.code), idempotency_key, agency.areas.covers)

    @app.post("/v1/incidents/{incident_id}/urgency", response_model=Answered, status_code=202, tags=["cek segera"],
              responses={**AUTH_RESPONSES, 409: {"description": "No open 'cek segera' check for this incident"}})
    async def answer(incident_id: uuid.UUID, body: UrgencyAnswer, officer: Officer) -> Answered:
        """Confirm (escalate now) or dismiss the urgency of an incident waiting in the 'cek segera' queue."""
        wb = ready()
        check = wb.checks.checks.pending.get(incident_id)
        if check is None or not officer.sees(check.triaged.payload.kecamatan_code):
            raise HTTPException(409, f"no open 'cek segera' check for incident {incident_id}: answered, escalated "
                                     "at its deadline, or never asked")
        p = check.triaged.payload
        answer = UrgencyAnswerPayload(incident_id=incident_id, report_id=p.report_id, note=body.note)
        events: list[Event]
        if body.urgent:
            events = [IncidentUrgencyConfirmed.decided(officer.actor, desk.producer, answer),
                      escalation(check, desk.liaisons(p.kecamatan_code), desk.producer, "urgency_confirmed",
                                 officer.actor)]
        else:
            events = [IncidentUrgencyDismissed.decided(officer.actor, desk.producer, answer)]
        try:
            await wb.publisher.publish_all(events)
        except PublishFailed as exc:
            raise HTTPException(503, f"the answer was not recorded ({exc}); try again", RETRY) from None
        return Answered(incident_id=incident_id, escalated=body.urgent)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok" if bench() is not None else "starting"}

    return app

