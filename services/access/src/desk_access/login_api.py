"""The login API: a person proves who they are and gets a session (a secure cookie for browsers,
the same token for programs as a bearer token), ends it, or makes a longer-lived API token.

Identity is proven by the configured provider (local argon2 passwords today); an OIDC provider
would replace only `check_password`'s part: the session that follows is the desk's own."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from desk_access import problems
from desk_access.http_guard import AUTH_RESPONSES, SESSION_COOKIE, guard_of, requires
from desk_access.passwords import Lockout, Passwords
from desk_access.problems import problem
from desk_access.settings import AccessSettings
from desk_shared.access.people import Principal
from desk_shared.access.sessions import SessionKind
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.people import Role

WRONG = "wrong login or password"
MALFORMED: dict[int | str, dict[str, object]] = {400: {"description": "The body is not JSON"}}


class Credentials(BaseModel):
    login: str = Field(min_length=1, max_length=64, examples=["ops.rahmat"])
    password: str = Field(min_length=1, max_length=1024)


class Person(BaseModel):
    person_id: str
    login: str
    roles: tuple[Role, ...]
    areas: Areas
    capabilities: list[str]


class SessionStarted(BaseModel):
    token: str = Field(description="Shown once. Browsers also get it as the HttpOnly session cookie.")
    kind: SessionKind
    expires_at: datetime
    person: Person


class TokenRequest(BaseModel):
    days: int = Field(30, ge=1, le=90, description="How long the token lasts.")


def _person(principal: Principal) -> Person:
    return Person(person_id=principal.person_id, login=principal.login, roles=principal.roles, areas=principal.areas,
                  capabilities=sorted(principal.capabilities))


def create_app(settings: AccessSettings, passwords: Passwords, lockout: Lockout) -> FastAPI:
    app = FastAPI(title="Desk Pemilu — access", version="1",
                  description="Login for the desk's people: sessions (a secure cookie) and bearer tokens.")
    problems.install(app)

    @app.post("/v1/login", response_model=SessionStarted, tags=["sessions"], responses={
        **MALFORMED, 401: {"description": "Wrong login or password"},
        429: {"description": "Too many failed logins: locked for Retry-After seconds"},
        503: {"description": "Logins cannot be checked yet (starting, or NATS unreachable)"}})
    async def login(credentials: Credentials, request: Request) -> Response:
        guard = guard_of(request)
        locked = await lockout.locked_for(credentials.login)
        if locked:
            return _locked(locked)
        person = guard.people.find(credentials.login)
        if not await passwords.check(person.person_id if person else None, credentials.password) \
                or person is None or person.disabled is not None:
            locked = await lockout.failed(credentials.login)
            return _locked(locked) if locked else problem(401, WRONG, title="Login failed")
        await lockout.cleared(credentials.login)
        principal = guard.people.principal(person.person_id)
        assert principal is not None
        lifetime = settings.session_hours * 3600
        token, session = await guard.sessions.start(person.person_id, SessionKind.BROWSER, lifetime)
        body = SessionStarted(token=token, kind=session.kind, expires_at=session.expires_at, person=_person(principal))
        answer = JSONResponse(body.model_dump(mode="json"))
        answer.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime), httponly=True,
                          secure=settings.cookie_secure, samesite="strict", path="/")
        return answer

    @app.post("/v1/logout", status_code=204, tags=["sessions"], responses=AUTH_RESPONSES)
    async def logout(request: Request, principal: Annotated[Principal, Depends(requires())]) -> Response:
        await guard_of(request).sessions.end(request.state.session_id)
        answer = Response(status_code=204)
        answer.delete_cookie(SESSION_COOKIE, path="/", secure=settings.cookie_secure, httponly=True,
                             samesite="strict")
        return answer

    @app.get("/v1/me", response_model=Person, tags=["sessions"], responses=AUTH_RESPONSES)
    async def me(principal: Annotated[Principal, Depends(requires())]) -> Person:
        return _person(principal)

    @app.post("/v1/tokens", response_model=SessionStarted, status_code=201, tags=["sessions"],
              responses={**MALFORMED, **AUTH_RESPONSES})
    async def new_token(wanted: TokenRequest, request: Request,
                        principal: Annotated[Principal, Depends(requires())]) -> SessionStarted:
        days = min(wanted.days, settings.token_max_days)
        token, session = await guard_of(request).sessions.start(principal.person_id, SessionKind.API, days * 86400)
        return SessionStarted(token=token, kind=session.kind, expires_at=session.expires_at, person=_person(principal))

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> dict[str, str]:
        return {"status": "ok" if getattr(request.app.state, "people_guard", None) else "starting"}

    return app


def _locked(seconds: float) -> JSONResponse:
    wait = max(1, math.ceil(seconds))
    return problem(429, f"too many failed logins; try again in {wait} s", {"Retry-After": str(wait)}, "Login locked")
