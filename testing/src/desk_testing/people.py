"""People and tokens for tests: registered through the log and the buckets, as an administrator would."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from desk_access.operations import session
from desk_access.people_admin import Desk, add_person
from desk_shared.access.guard import Authenticated, Refusal
from desk_shared.access.people import Principal
from desk_shared.access.sessions import Session, SessionKind, Sessions
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.people import PersonalDetails, Role
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import everywhere

PASSWORD = "kata-sandi-uji-coba"


def person_token(bus: BusSettings, login: str, roles: tuple[Role, ...] = (Role.LEADER,),
                 areas: Areas | None = None) -> str:
    """A bearer token of a new person `login` (registered with PASSWORD, everywhere unless `areas`)."""
    async def run() -> str:
        async with session(bus) as js:
            desk = Desk(js, bus, Actor(kind="person", id="test-admin"), "test")
            person_id = await add_person(desk, login=login, details=PersonalDetails(name=login.title()), roles=roles,
                                         areas=areas or everywhere(), password=PASSWORD)
            token, _ = await (await Sessions.open(js, bus)).start(person_id, SessionKind.API, 3600)
            return token

    return asyncio.run(run())


class StaticGuard:
    """A guard that knows a fixed set of tokens: for tests of an API without NATS."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self._principals = principals

    async def authenticate(self, token: str | None) -> Authenticated | Refusal:
        principal = self._principals.get(token or "")
        if principal is None:
            return Refusal("unknown token")
        expires = datetime.now(UTC) + timedelta(hours=1)
        return Authenticated(principal, Session(token or "", principal.person_id, SessionKind.API, expires, ""))
