"""The desk's commands on incidents (triage's HTTP API): desk officers verify, reclassify, change
severity, assign, note, close, reopen, merge and split; answer 'cek segera' checks; assigned
agencies (with their API key) or officers for them record progress. Every command is decided
against the incident's kecamatan as the log has it and appended on condition; the person (or
agency) is the actor of every event. A retried request with the same `Idempotency-Key` appends
its events once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from desk_access import problems
from desk_access.http_guard import AUTH_RESPONSES, requires
from desk_shared.access.people import Capability, Principal
from desk_shared.access.registry import Denied, authenticate
from desk_shared.contracts.envelope import Actor
from desk_triage.commands import (
    ACTIONS,
    Action,
    Answered,
    CommandRefused,
    Decided,
    ProgressBody,
    UrgencyAnswer,
    Workbench,
    answer_urgency,
    carry_out,
)
from desk_triage.incidents import decide as d

Officer = Annotated[Principal, Depends(requires(Capability.DECIDE))]
AGENCY_KEY = HTTPBearer(auto_error=False, scheme_name="agencyKey",
                        description="An assigned agency's API key (dpk_...), as it submits reports with.")
RETRY = {"Retry-After": "2"}
T = TypeVar("T")

COMMAND_RESPONSES: dict[int | str, dict[str, object]] = {
    **AUTH_RESPONSES, 404: {"description": "No such incident in the person's areas"},
    409: {"description": "The incident's state does not allow it (closed, merged, already so)"},
    422: {"description": "The body is not valid"}}


async def answered(work: Awaitable[T]) -> T:
    """The command's outcome, or its refusal as an HTTP error."""
    try:
        return await work
    except CommandRefused as refused:
        raise HTTPException(refused.status, refused.detail, RETRY if refused.status == 503 else None) from None


def create_app(bench: Callable[[], Workbench | None], desk: d.Desk) -> FastAPI:
    app = FastAPI(title="Desk Pemilu — triage", version="2",
                  description="Desk officers' decisions on incidents, 'cek segera' answers, agencies' progress.")
    problems.install(app)

    def ready() -> Workbench:
        found = bench()
        if found is None:
            raise problems.still_starting("triage")
        return found

    def officer_route(name: str, action: Action) -> None:
        async def endpoint(incident_id: uuid.UUID, payload: BaseModel, officer: Officer,
                           idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Decided:
            return await answered(carry_out(ready(), desk, incident_id, action.command(payload), officer.actor,
                                            idempotency_key, officer.sees))

        endpoint.__doc__ = action.summary
        endpoint.__annotations__["payload"] = action.body  # the body model of this route (a string under PEP 563)
        app.post(f"/v1/incidents/{{incident_id}}/{name}", response_model=Decided, status_code=202,
                 summary=action.summary, tags=["keputusan petugas"], responses=COMMAND_RESPONSES,
                 name=name)(endpoint)

    for name, action in ACTIONS.items():
        officer_route(name, action)

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
        return await answered(carry_out(ready(), desk, incident_id, d.RecordProgress(
            agency.kind.value, body.stage, body.note), Actor.agency(agency.code), idempotency_key,
            agency.areas.covers))

    @app.post("/v1/incidents/{incident_id}/urgency", response_model=Answered, status_code=202, tags=["cek segera"],
              responses={**AUTH_RESPONSES, 409: {"description": "No open 'cek segera' check for this incident"}})
    async def answer(incident_id: uuid.UUID, body: UrgencyAnswer, officer: Officer) -> Answered:
        """Confirm (escalate now) or dismiss the urgency of an incident waiting in the 'cek segera' queue."""
        return await answered(answer_urgency(ready(), desk, incident_id, body, officer.actor, officer.sees))

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok" if bench() is not None else "starting"}

    return app
