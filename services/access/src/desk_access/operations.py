"""The operator's session with the log: read the registry as it stands, append what was decided."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from nats.js import JetStreamContext

from desk_shared.access import people
from desk_shared.access.people import People
from desk_shared.access.registry import Registry, evolve
from desk_shared.contracts import subjects
from desk_shared.contracts.envelope import Event
from desk_shared.runtime.bus import connect
from desk_shared.runtime.history import folded
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

READ_SECONDS = 60.0
"""Reading the registry takes well under a second for thousands of agencies: more is a fault."""


class Unreachable(RuntimeError):
    """NATS did not answer in time."""


@contextlib.asynccontextmanager
async def session(bus: BusSettings, connect_seconds: float = 10.0) -> AsyncIterator[JetStreamContext]:
    """JetStream on the desk's bus, with the streams in place; `Unreachable` if NATS does not answer."""
    try:
        async with asyncio.timeout(connect_seconds):
            nc = await connect(bus, "desk-access")
    except TimeoutError:
        raise Unreachable(f"no NATS server answered at {bus.nats_url} within {connect_seconds:.0f} s") from None
    try:
        js = nc.jetstream()
        await ensure_streams(js, bus)
        yield js
    finally:
        await nc.close()


async def current_registry(js: JetStreamContext, bus: BusSettings) -> Registry:
    async with asyncio.timeout(READ_SECONDS):
        return await folded(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve)


async def current_people(js: JetStreamContext, bus: BusSettings) -> People:
    async with asyncio.timeout(READ_SECONDS):
        return await folded(js, bus.stream_name, subjects.PEOPLE_EVENTS, People(), people.evolve)


async def append(js: JetStreamContext, bus: BusSettings, events: Sequence[Event]) -> None:
    publisher = EventPublisher(js, bus)
    try:
        await publisher.publish_all(list(events))
    finally:
        publisher.close()
