"""The NATS door on a real nats-server: concurrent requests are all answered correctly,
handled at once up to the bound, and what is accepted is in the log exactly once."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError

from desk_intake.nats_api import NatsDoor
from desk_intake.receiving import Intake, Receipt
from desk_intake.settings import IntakeSettings
from desk_intake.submission import SubmitReport, accept
from desk_shared.access.registry import Registry, evolve, register
from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.regions import regions
from desk_shared.privacy import SubjectKeys
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings

pytestmark = pytest.mark.system

GOOD = {"kecamatan": "11.13.01", "text": "Kotak suara di TPS 02 rusak."}


def registered(*agencies: tuple[str, Areas]) -> Registry:
    registry = Registry()
    for code, areas in agencies:
        registry = evolve(registry, register(registry, regions(), code=code, name=code, kind=AgencyKind.OTHER,
                                             areas=areas, actor=Actor.service("test"), producer="test"))
    return registry


REGISTRY = registered(("kpu", Areas(regencies=("11.13",))), ("camat-blangkejeren", Areas(kecamatan=("11.13.01",))))


@pytest.fixture
async def requester(bus: BusSettings) -> AsyncIterator[Client]:
    client = await connect(bus, "test-requester")
    yield client
    await client.close()


async def ask(nc: Client, body: dict[str, object], key: str | None = None, agency: str = "kpu") -> dict[str, object]:
    """One request, retried while the server says no one serves the subject, as a producer would.

    Right after a subscription on the same wildcard was removed and added again (each test
    starts and stops a door), a new connection's first request now and then meets "no
    responders" even though the door flushed its subscription: measured on nats-server 2.9
    and 2.15 with plain nats-py and no project code, about 1 in 15 requests."""
    for _ in range(50):
        try:
            reply = await nc.request(subjects.intake_report_subject(agency), json.dumps(body).encode(), timeout=10,
                                     headers={"Idempotency-Key": key} if key else None)
            return json.loads(reply.data)
        except NoRespondersError:
            await asyncio.sleep(0.05)
    raise AssertionError("no door answered")


async def test_concurrent_requests_are_all_answered_correctly(nats_client: Client, requester: Client,
                                                              bus: BusSettings) -> None:
    js = nats_client.jetstream()
    door = NatsDoor(nats_client, Intake(EventPublisher(js, bus), frozenset(), js, bus.stream_name,
                    await SubjectKeys.open(js, bus)), lambda: REGISTRY,
                    IntakeSettings(nats_max_in_flight=16))
    await door.start()
    try:
        keys = [f"kpu-{n}" for n in range(120)]
        calls = ([("good", k, ask(requester, GOOD | {"text": f"Laporan {k}"}, k)) for k in keys]
                 + [("again", k, ask(requester, GOOD | {"text": f"Laporan {k}"}, k)) for k in keys[:30]]
                 + [("bad", None, ask(requester, {"kecamatan": "99.99.99", "text": ""})) for _ in range(20)]
                 + [("late", None, ask(requester, GOOD | {"occurred_at": "0001-01-01T00:00:00+14:00"}))
                    for _ in range(10)])
        random.Random(4).shuffle(calls)
        replies = await asyncio.gather(*(call for _, _, call in calls))
    finally:
        await door.stop(5)

    ids: dict[str, set[object]] = {}
    for (kind, key, _), reply in zip(calls, replies, strict=True):
        if kind in ("good", "again"):
            assert reply["status"] == "accepted", reply
            expected = accept(SubmitReport(**GOOD), channel="nats", agency="kpu", header_key=key, scope=frozenset())
            assert reply["report_id"] == str(expected.event_id)
            ids.setdefault(str(key), set()).add(reply["sequence"])
        elif kind == "bad":
            assert reply["status"] == "rejected"
            assert {e["field"] for e in reply["errors"]} == {"kecamatan", "text"}  # type: ignore[union-attr]
        else:
            assert reply == {"status": "rejected", "errors": [{"field": "occurred_at",
                                                               "message": "occurred_at cannot be expressed in UTC"}]}
    duplicates = sum(1 for (kind, _, _), r in zip(calls, replies, strict=True) if kind != "bad" and r.get("duplicate"))
    assert duplicates == 30  # each key's second request, whichever of the two came first
    assert all(len(sequences) == 1 for sequences in ids.values())  # both answers name the one stored message
    assert (await js.stream_info(bus.stream_name)).state.messages == 120


class GatedIntake:
    """Holds every submission until released, counting how many are held at once."""

    def __init__(self) -> None:
        self.held = 0
        self.most = 0
        self.release = asyncio.Event()
        self._changed = asyncio.Condition()

    async def holding(self, count: int) -> None:
        """Wait (5 s at most) until `count` submissions are held."""
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: self.held >= count)

    async def submit(self, report: SubmitReport, *, channel: str, agency: str | None = None,
                     header_key: str | None = None, areas: object = None) -> Receipt:
        event = accept(report, channel=channel, agency=agency, header_key=header_key,  # type: ignore[arg-type]
                       scope=frozenset())
        async with self._changed:
            self.held += 1
            self.most = max(self.most, self.held)
            self._changed.notify_all()
        await self.release.wait()
        self.held -= 1
        return Receipt(event.event_id, False, 1)


async def test_requests_are_handled_at_once_up_to_the_bound(nats_client: Client, requester: Client) -> None:
    gated = GatedIntake()
    door = NatsDoor(nats_client, gated, lambda: REGISTRY, IntakeSettings(nats_max_in_flight=5))  # type: ignore[arg-type]
    await door.start()
    try:
        pending = [asyncio.create_task(ask(requester, GOOD, f"k-{n}")) for n in range(12)]
        await gated.holding(5)
        await asyncio.sleep(0.2)  # time for a sixth to start, were the bound not kept
        assert gated.most == 5
        gated.release.set()
        replies = await asyncio.gather(*pending)
    finally:
        await door.stop(5)
    assert [r["status"] for r in replies] == ["accepted"] * 12
    assert gated.most == 5


async def test_a_stopped_door_finishes_what_it_started(nats_client: Client, requester: Client) -> None:
    gated = GatedIntake()
    door = NatsDoor(nats_client, gated, lambda: REGISTRY, IntakeSettings())  # type: ignore[arg-type]
    await door.start()
    pending = asyncio.create_task(ask(requester, GOOD, "k-stop"))
    await gated.holding(1)
    stopping = asyncio.create_task(door.stop(5))
    await asyncio.sleep(0.1)
    gated.release.set()
    await stopping
    assert (await pending)["status"] == "accepted"


async def test_only_registered_agencies_submit_and_only_for_their_areas(nats_client: Client, requester: Client,
                                                                       bus: BusSettings) -> None:
    js = nats_client.jetstream()
    intake = Intake(EventPublisher(js, bus), frozenset(), js, bus.stream_name,
                    await SubjectKeys.open(js, bus))
    door = NatsDoor(nats_client, intake, lambda: REGISTRY, IntakeSettings())
    await door.start()
    try:
        unknown = await ask(requester, GOOD, agency="partai-x")
        outside = await ask(requester, GOOD | {"kecamatan": "11.13.02"}, agency="camat-blangkejeren")
        inside = await ask(requester, GOOD, "k-1", agency="camat-blangkejeren")
        again = await ask(requester, GOOD, "k-1", agency="camat-blangkejeren")
        reused = await ask(requester, GOOD | {"text": "Laporan lain sama sekali."}, "k-1", agency="camat-blangkejeren")
        other_agency = await ask(requester, GOOD | {"text": "Laporan lain sama sekali."}, "k-1", agency="kpu")
    finally:
        await door.stop(5)
    assert unknown == {"status": "rejected", "errors": [{"field": "subject",
                                                         "message": "agency 'partai-x' is not registered"}]}
    assert outside["status"] == "forbidden" and "kecamatan 11.13.01" in outside["detail"]
    assert inside["status"] == "accepted" and again["duplicate"] is True and again["report_id"] == inside["report_id"]
    assert reused["status"] == "rejected" and reused["errors"][0]["field"] == "idempotency_key"  # not a duplicate
    assert "different report" in reused["errors"][0]["message"]
    assert other_agency["status"] == "accepted" and other_agency["duplicate"] is False  # a key is its agency's
    assert (await js.stream_info(bus.stream_name)).state.messages == 2
