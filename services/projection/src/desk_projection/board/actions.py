"""Officers' actions from the incident page, at the board's address: each is relayed with the
person's own session to triage (`desk.triage.command`), which checks the person, decides and
records it as the triage API would. Nothing is decided or stored here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Header, HTTPException, Request, Security
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from desk_access.http_guard import AUTH_RESPONSES, BEARER, COOKIE
from desk_projection.board.relay import ask
from desk_shared.contracts import subjects

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="desk-pemilu"'}
RESPONSES: dict[int | str, dict[str, object]] = {
    **AUTH_RESPONSES, 202: {"description": "Recorded: the events appended (as triage's API answers)"},
    404: {"description": "No such incident in the person's areas, or no such action"},
    409: {"description": "The incident's state does not allow it"}, 422: {"description": "The body is not valid"}}


def cross_site(request: Request) -> bool:
    """Whether the browser says the request comes from a page of another site. The session cookie is
    SameSite=Strict already; this holds even where a browser or a proxy would not keep to that."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host")


def actions_router(refusal: str | None = None) -> APIRouter:
    """`refusal`: every action is answered 409 with it (an archive is read-only)."""
    router = APIRouter()

    @router.post("/v1/incidents/{incident_id}/actions/{action}", status_code=202, tags=["board"],
                 responses=RESPONSES, response_model=dict[str, Any])
    async def act(request: Request, incident_id: uuid.UUID,
                  action: Annotated[str, PathParam(pattern=r"^[a-z][a-z-]{1,39}$", examples=["verify"])],
                  bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
                  cookie: Annotated[str | None, Security(COOKIE)],
                  body: Annotated[dict[str, Any], Body(examples=[{"note": "Dicek ke Panwascam"}])],
                  idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
        """An officer's action on an incident (verify, category, severity, assignments, notes, close,
        reopen, merge, split, agency-progress, urgency), with the body triage's API takes for it."""
        if refusal is not None:
            raise HTTPException(409, refusal)
        token = bearer.credentials if bearer else cookie
        if not token:
            raise HTTPException(401, "no credential: log in", headers=CHALLENGE)
        if not bearer and cross_site(request):
            raise HTTPException(403, "a decision sent from another site with this browser's session is refused")
        answer = await ask(request, subjects.TRIAGE_COMMAND, {
            "token": token, "incident_id": str(incident_id), "action": action, "body": body,
            "idempotency_key": idempotency_key})
        if answer is None:
            raise HTTPException(503, "the decision cannot be taken now (triage unreachable); try again",
                                headers={"Retry-After": "2"})
        status = int(answer.get("status") or 500)
        if status != 202:
            raise HTTPException(status, str(answer.get("detail") or "refused"),
                                headers=CHALLENGE if status == 401 else None)
        return JSONResponse(answer.get("result") or {}, status_code=202)

    return router
