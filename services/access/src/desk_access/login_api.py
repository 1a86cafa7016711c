"""The login API: a person proves who they are and gets a session (a secure cookie for browsers,
the same token for programs as a bearer token), ends it, or makes a longer-lived API token.

Identity is proven by the configured provider (local argon2 passwords today); an OIDC provider
would replace only `check_password`'s part: the session that follows is the desk's own."""

from __future__ import annotations

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
from desk_access.sign_in import Refused, SignIn
from desk_shared.access.people import Principal
from desk_shared.access.sessions import SessionKind
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.people import Role

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
        found = await SignIn(guard_of(request), passwords, lockout, settings.session_hours * 3600)(
            credentials.login, credentials.password)
        if isinstance(found, Refused):
            headers = {"Retry-After": str(found.retry_after)} if found.retry_after else None
            return problem(found.status, found.reason, headers, "Login locked" if found.status == 429 else
                           "Login failed")
        body = SessionStarted(token=found.token, kind=found.kind, expires_at=found.expires_at,
                              person=_person(found.principal))
        answer = JSONResponse(body.model_dump(mode="json"))
        set_session_cookie(answer, found.token, found.lifetime_seconds, settings.cookie_secure)
        return answer

    @app.post("/v1/logout", status_code=204, tags=["sessions"], responses=AUTH_RESPONSES)
    async def logout(request: Request, principal: Annotated[Principal, Depends(requires())]) -> Response:
        await guard_of(request).sessions.end(request.state.session_id)
        answer = Response(status_code=204)
        clear_session_cookie(answer, settings.cookie_secure)
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


def set_session_cookie(answer: Response, token: str, lifetime_seconds: int, secure: bool) -> None:
    """The session as a browser keeps it: not readable by scripts, never sent cross-site."""
    answer.set_cookie(SESSION_COOKIE, token, max_age=lifetime_seconds, httponly=True, secure=secure,
                      samesite="strict", path="/")


def clear_session_cookie(answer: Response, secure: bool) -> None:
    answer.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
