"""Desk officers' answers to 'cek segera' checks: urgent (escalated now, with the officer as actor)
or not (no escalation). The only command triage takes from people so far; the officer is the
actor of every event it appends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from desk_access import problems
from desk_access.http_guard import AUTH_RESPONSES, requires
from desk_shared.access.people import Capability, Principal
from desk_shared.contracts.events import (
    Event,
    IncidentUrgencyConfirmed,
    IncidentUrgencyDismissed,
    Liaison,
    UrgencyAnswerPayload,
)
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_triage.check_watcher import CheckWatcher
from desk_triage.urgent_checks import escalation

Officer = Annotated[Principal, Depends(requires(Capability.DECIDE))]


class UrgencyAnswer(BaseModel):
    urgent: bool = Field(description="true: escalate now; false: not urgent, no escalation.")
    note: str | None = Field(None, max_length=1000, examples=["Sudah dicek ke Panwascam: kejadian minggu lalu."])


class Answered(BaseModel):
    incident_id: uuid.UUID
    escalated: bool


def create_app(watcher: Callable[[], CheckWatcher | None], publisher: Callable[[], EventPublisher | None],
               liaisons: Callable[[str], tuple[Liaison, ...]], producer: str) -> FastAPI:
    app = FastAPI(title="Desk Pemilu — triage", version="1",
                  description="Desk officers answer 'cek segera' checks (urgency that could not be ruled out).")
    problems.install(app)

    @app.post("/v1/incidents/{incident_id}/urgency", response_model=Answered, status_code=202, tags=["cek segera"],
              responses={**AUTH_RESPONSES, 409: {"description": "No open 'cek segera' check for this incident"},
                         400: {"description": "The body is not JSON"}})
    async def answer(incident_id: uuid.UUID, body: UrgencyAnswer, officer: Officer) -> Answered:
        """Confirm (escalate now) or dismiss the urgency of an incident waiting in the 'cek segera' queue."""
        checks, out = watcher(), publisher()
        if checks is None or out is None:
            raise HTTPException(503, "the 'cek segera' checks are not known yet; try again", {"Retry-After": "2"})
        check = checks.checks.pending.get(incident_id)
        if check is None:
            raise HTTPException(409, f"no open 'cek segera' check for incident {incident_id}: answered, escalated "
                                     "at its deadline, or never asked")
        p = check.triaged.payload
        answer = UrgencyAnswerPayload(incident_id=incident_id, report_id=p.report_id, note=body.note)
        events: list[Event]
        if body.urgent:
            events = [IncidentUrgencyConfirmed.decided(officer.actor, producer, answer),
                      escalation(check, liaisons(p.kecamatan_code), producer, "urgency_confirmed", officer.actor)]
        else:
            events = [IncidentUrgencyDismissed.decided(officer.actor, producer, answer)]
        try:
            await out.publish_all(events)
        except PublishFailed as exc:
            raise HTTPException(503, f"the answer was not recorded ({exc}); try again", {"Retry-After": "2"}) from None
        return Answered(incident_id=incident_id, escalated=body.urgent)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok" if watcher() is not None else "starting"}

    return app
