"""Signing in and out, whichever door the person came through (the access API, or a page that
relays the form over NATS): the password checked, failures counted and locked out, a browser
session started; a session ended."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from desk_access.passwords import Lockout, Passwords
from desk_shared.access.guard import PeopleGuard, Refusal
from desk_shared.access.people import Principal
from desk_shared.access.sessions import SessionKind

WRONG = "wrong login or password"


@dataclass(frozen=True)
class SignedIn:
    token: str
    kind: SessionKind
    expires_at: datetime
    principal: Principal
    lifetime_seconds: int


@dataclass(frozen=True)
class Refused:
    status: int
    """401 (wrong login or password) or 429 (locked)."""
    reason: str
    retry_after: int | None = None


@dataclass(frozen=True)
class SignIn:
    guard: PeopleGuard
    passwords: Passwords
    lockout: Lockout
    session_seconds: int

    async def __call__(self, login: str, password: str) -> SignedIn | Refused:
        locked = await self.lockout.locked_for(login)
        if locked:
            return _locked(locked)
        person = self.guard.people.find(login)
        if not await self.passwords.check(person.person_id if person else None, password) \
                or person is None or person.disabled is not None:
            locked = await self.lockout.failed(login)
            return _locked(locked) if locked else Refused(401, WRONG)
        await self.lockout.cleared(login)
        principal = self.guard.people.principal(person.person_id)
        assert principal is not None
        token, session = await self.guard.sessions.start(person.person_id, SessionKind.BROWSER, self.session_seconds)
        return SignedIn(token, session.kind, session.expires_at, principal, self.session_seconds)

    async def sign_out(self, token: str) -> bool:
        """End the session of `token`; False if it was no valid session."""
        found = await self.guard.authenticate(token)
        if isinstance(found, Refusal):
            return False
        await self.guard.sessions.end(found.session.token_id)
        return True


def _locked(seconds: float) -> Refused:
    wait = max(1, math.ceil(seconds))
    return Refused(429, f"too many failed logins; try again in {wait} s", wait)
