"""The access service's composition root: the login API over the shared people, sessions and logins."""

from __future__ import annotations

import asyncio
import logging

from desk_access.api_server import ApiServer
from desk_access.login_api import create_app
from desk_access.login_door import LoginDoor
from desk_access.passwords import Lockout, LockoutPolicy, Passwords, logins_bucket
from desk_access.settings import AccessSettings
from desk_access.sign_in import SignIn
from desk_shared.access.guard import PeopleGuard
from desk_shared.runtime.bus import connect
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import streams_ready

log = logging.getLogger(__name__)


async def serve(settings: AccessSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    nc = await connect(bus, "access")
    try:
        js = nc.jetstream()
        await streams_ready(js, bus)
        guard = await PeopleGuard.start(js, bus)
        logins = await logins_bucket(js, bus)
        policy = LockoutPolicy(settings.max_failures, settings.failure_window_seconds, settings.lockout_seconds)
        passwords, lockout = Passwords(logins), Lockout(logins, policy)
        app = create_app(settings, passwords, lockout)
        app.state.people_guard = guard
        door = LoginDoor(nc, SignIn(guard, passwords, lockout, settings.session_hours * 3600))
        await door.open()
        server = ApiServer(app, settings.host, settings.port, "access")
        serving = asyncio.create_task(server.serve(), name="access-api")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await asyncio.wait({serving}, timeout=10)
        stopping.cancel()
        await door.close()
        await guard.stop()
    finally:
        await nc.close()
