"""FastAPI's side of the people guard: every route that depends on `requires(...)` asks for a
session cookie or a bearer token, and the OpenAPI document declares both schemes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from desk_shared.access.guard import Authenticated, PeopleGuard, Refusal
from desk_shared.access.people import Capability, Principal

SESSION_COOKIE = "desk_session"
BEARER = HTTPBearer(auto_error=False, scheme_name="personToken",
                    description="A person's token (dps_...): from POST /v1/login or /v1/tokens of the access service.")
COOKIE = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="sessionCookie",
                      description="The session cookie a browser gets at login.")
RETRY_SECONDS = "2"
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No valid session or token"},
    403: {"description": "The person's roles do not allow this"},
    503: {"description": "Credentials cannot be checked yet (starting, or NATS unreachable)"}}
"""What every route behind `requires` may also answer (for its OpenAPI document)."""


class Guard(Protocol):
    async def authenticate(self, token: str | None) -> Authenticated | Refusal: ...


def guard_of(request: Request) -> PeopleGuard:
    guard: PeopleGuard | None = getattr(request.app.state, "people_guard", None)
    if guard is None:
        raise HTTPException(503, "credentials cannot be checked yet (the service is starting or NATS is "
                                 "unreachable); try again", headers={"Retry-After": RETRY_SECONDS})
    return guard


def requires(capability: Capability | None = None) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the authenticated person: 401 without a valid credential, 403 when the
    person's roles do not grant `capability`."""

    async def principal(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
                        cookie: Annotated[str | None, Security(COOKIE)]) -> Principal:
        guard: Guard = guard_of(request)
        found = await guard.authenticate(bearer.credentials if bearer else cookie)
        if isinstance(found, Refusal):
            raise HTTPException(401, str(found), headers={"WWW-Authenticate": 'Bearer realm="desk-pemilu"'})
        who = found.principal
        if capability is not None and not who.may(capability):
            raise HTTPException(403, f"{who.login} ({', '.join(who.roles)}) may not {capability.value}")
        request.state.session_id = found.session.token_id
        return who

    return principal
