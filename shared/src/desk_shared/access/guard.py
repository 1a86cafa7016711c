"""Who is asking: a token (a session cookie's or a bearer token) to a principal, or a refusal.

Every replica of a service that answers people follows the people events from the log (so a
disabled person or a changed role counts at once everywhere) and looks tokens up in the shared
sessions bucket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nats.js import JetStreamContext

from desk_shared.access.people import People, Principal, evolve
from desk_shared.access.sessions import Session, Sessions
from desk_shared.contracts import subjects
from desk_shared.runtime.history import Follower
from desk_shared.runtime.settings import BusSettings

CATCH_UP_SECONDS = 60.0


class Refusal(str):
    """Why a token does not authenticate (English, for the problem document and the logs)."""


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    session: Session


class PeopleGuard:
    def __init__(self, people: Follower[People], sessions: Sessions) -> None:
        self._people = people
        self._sessions = sessions

    @classmethod
    async def start(cls, js: JetStreamContext, settings: BusSettings) -> PeopleGuard:
        follower = Follower(js, settings.stream_name, subjects.PEOPLE_EVENTS, People(), evolve)
        async with asyncio.timeout(CATCH_UP_SECONDS):
            await follower.start()
        return cls(follower, await Sessions.open(js, settings))

    @property
    def people(self) -> People:
        return self._people.state

    @property
    def sessions(self) -> Sessions:
        return self._sessions

    async def authenticate(self, token: str | None) -> Authenticated | Refusal:
        if not token:
            return Refusal("no credential: log in, or send a token as 'Authorization: Bearer dps_...'")
        session = await self._sessions.find(token)
        if session is None:
            return Refusal("the session or token is unknown, ended or expired: log in again")
        principal = self.people.principal(session.person_id)
        if principal is None:
            return Refusal("the person is disabled")
        return Authenticated(principal, session)

    async def stop(self) -> None:
        await self._people.stop()
