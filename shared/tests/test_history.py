"""A fold of the agency events kept current on a real nats-server: replicas agree, follow the
log in its order, skip poison and see nothing of other subjects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.client import Client

from desk_shared.access.registry import Agency, Denied, Registry, authenticate, evolve, issue, register, revoke
from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AgencyKind, AgencyRegistered, Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.regions import regions
from desk_shared.runtime.history import Follower, folded
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples

ADMIN = Actor(kind="person", id="admin-1")


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


async def test_followers_agree_and_see_a_revocation_within_moments(nats_client: Client, bus: BusSettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    first = Follower(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve)
    assert await first.start() == Registry()  # nothing stored yet: ready at once

    registered = register(Registry(), regions(), code="kpu", name="KPU", kind=AgencyKind.KPU,
                          areas=Areas(regencies=("11.13",)), actor=ADMIN, producer="test")
    issued = issue(evolve(Registry(), registered), code="kpu", actor=ADMIN, producer="test")
    await publisher.publish_all([*samples.sample_log(3), registered, issued.event])  # reports in between
    await js.publish(AgencyRegistered.subject, b"not json")  # poison on the same subject
    await eventually(lambda: isinstance(authenticate(first.state, issued.token), Agency))

    second = Follower(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve)  # a replica starting later
    assert await second.start() == first.state
    assert second.position == first.position

    await publisher.publish_all([revoke(first.state, key_id=issued.event.payload.key_id, reason="stolen",
                                        actor=ADMIN, producer="test")])
    denied = Denied("revoked API key", issued.event.payload.key_id)
    await eventually(lambda: authenticate(first.state, issued.token) == denied == authenticate(second.state,
                                                                                                 issued.token))
    assert await folded(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve) == first.state
    await first.stop()
    await second.stop()
    publisher.close()
