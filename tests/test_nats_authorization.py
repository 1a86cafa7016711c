"""NATS users and permissions generated from the registry, proven against a real nats-server
started with the generated configuration: the whole system runs under it (services as separate
processes, each with its own user), and for every role the forbidden publishes, subscriptions,
stream deletes, purges and updates fail while the allowed ones work."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoServersError
from nats.js.api import ConsumerConfig, StreamConfig

from desk_access.demo import provision
from desk_access.nats_authorization import AUDITOR, OPERATOR, SERVICES
from desk_access.operations import append, current_registry, session
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.inbox import Inbox
from desk_pemilu.nats_users import NatsRoles, secured_nats, users_sync_process
from desk_pemilu.processes import ServiceProcess, answers, service_processes, stop_all
from desk_shared.access import keys
from desk_shared.access.registry import revoke
from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.people import Role
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import bearer
from desk_testing.fixtures import bus_env, wait_for
from desk_testing.people import person_token

pytestmark = pytest.mark.system

EVENTS, DEAD = "DESK_EVENTS", "DESK_DEADLETTER"
STREAM_CHANGES = [f"$JS.API.STREAM.{verb}.{stream}" for verb in ("DELETE", "PURGE", "UPDATE") for stream in
                  (EVENTS, DEAD, "KV_desk_positions")] + [f"$JS.API.STREAM.MSG.DELETE.{EVENTS}"]


@dataclass
class Secured:
    nats: EmbeddedNats
    roles: NatsRoles
    intake: str
    projection: str
    inbox: Inbox
    agency_key: str
    """Agency `kpu`'s key (the whole regency 11.13)."""
    token: str
    """A leader's bearer token, for the projection."""
    processes: list[ServiceProcess]

    def bus(self, role: str) -> BusSettings:
        return self.roles.bus(self.nats.url, role)

    def server_log(self) -> str:
        return (self.nats.store_dir.parent / "nats-server.log").read_text()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    home = tmp_path_factory.mktemp("secured")
    server, roles = secured_nats(home, free_port(), sync_always=False)
    server.start(log_file=home / "nats-server.log")
    operator = roles.bus(server.url, OPERATOR)
    key = asyncio.run(_provision(operator, "kpu", Areas(regencies=("11.13",))))
    token = person_token(operator, "secured-leader")
    inbox = Inbox(0)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    contacts = home / "contacts.toml"
    contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{inbox.server_port}/alerts"\n')
    intake_port, projection_port = free_port(), free_port()
    env = bus_env(operator) | {"DESK_INTAKE_PORT": str(intake_port), "DESK_PROJECTION_PORT": str(projection_port),
                               "DESK_ACCESS_PORT": str(free_port()), "DESK_TRIAGE_PORT": str(free_port()),
                               "DESK_NOTIFY_PORT": str(free_port()),
                               "DESK_PROJECTION_DATABASE_URL": f"sqlite:///{home / 'projection.db'}",
                               "DESK_NOTIFY_CONTACTS_FILE": str(contacts)}
    processes = [users_sync_process(server, roles, env, home / "nats-users.log"),
                 *service_processes(env, home, own_env=roles.env)]
    for p in processes:
        p.start()
    running = Secured(server, roles, f"http://127.0.0.1:{intake_port}", f"http://127.0.0.1:{projection_port}",
                      inbox, key, token, processes)
    try:
        assert server.authorization
        wait_for(lambda: keys.nats_user(key.split("_")[1]) in server.authorization.read_text(), 30,
                 what="the agency's NATS user in the generated authorization")
        for url in (running.intake, running.projection):
            wait_for(lambda url=url: answers(url + "/health"), 60, what=f"{url} to serve")
        yield running
    finally:
        stop_all(processes)
        inbox.shutdown()
        server.stop()
        print("\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in processes))


async def _provision(operator: BusSettings, code: str, areas: Areas) -> str:
    async with session(operator) as js:
        return await provision(js, operator, code, code.upper(), AgencyKind.KPU, areas)


class Probe:
    """A connection as one user that notes every permission violation the server reports."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: Client | None = None
        self.disconnected = asyncio.Event()

    async def _error(self, exc: Exception) -> None:
        self.errors.append(str(exc).lower())

    async def _disconnected(self) -> None:
        self.disconnected.set()

    async def connect(self, url: str, user: str, password: str) -> Client:
        self.nc = await nats.connect(url, user=user, password=password, name=f"probe-{user}",
                                     inbox_prefix=subjects.inbox_prefix(user), error_cb=self._error,
                                     disconnected_cb=self._disconnected,
                                     allow_reconnect=False)
        return self.nc

    async def refused(self, subject: str) -> bool:
        """Whether the server reported a violation naming `subject` (waits briefly for it)."""
        assert self.nc
        await self.nc.flush()
        for _ in range(20):
            if any(f'"{subject.lower()}"' in e for e in self.errors):
                return True
            await asyncio.sleep(0.05)
        return False

    async def publish_refused(self, subject: str) -> bool:
        assert self.nc
        await self.nc.publish(subject, b"{}")
        return await self.refused(subject)

    async def subscribe_refused(self, subject: str) -> bool:
        assert self.nc
        await self.nc.subscribe(subject)
        return await self.refused(subject)


@contextlib.asynccontextmanager
async def probe(secured: Secured, user: str, password: str | None = None) -> AsyncIterator[Probe]:
    found = Probe()
    await found.connect(secured.nats.url, user, password or secured.roles.passwords[user]["password"])
    try:
        yield found
    finally:
        assert found.nc
        await found.nc.close()


def _agency_user(key: str) -> str:
    return keys.nats_user(keys.parse(key).key_id)  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- the system under it
def test_the_whole_system_works_under_the_generated_permissions(secured: Secured) -> None:
    answer = httpx.post(f"{secured.intake}/v1/reports", headers=bearer(secured.agency_key), json={
        "kecamatan": "11.13.02", "text": "Massa membawa parang menyerang TPS 05, dua petugas KPPS luka-luka.",
        "reporter": {"name": "Saksi TPS 05"}})
    assert answer.status_code == 202, answer.text

    async def over_nats() -> dict:
        async with probe(secured, _agency_user(secured.agency_key), secured.agency_key) as agency:
            assert agency.nc
            report = {"kecamatan": "11.13.03", "text": "Kotak suara dibakar massa di TPS 02, satu orang luka berat."}
            reply = await agency.nc.request(subjects.intake_report_subject("kpu"), json.dumps(report).encode(),
                                            timeout=10)
            return json.loads(reply.data)

    door = asyncio.run(over_nats())
    assert door["status"] == "accepted", door
    reports = {answer.json()["report_id"], door["report_id"]}

    def escalated() -> bool:
        items = httpx.get(f"{secured.projection}/v1/incidents", params={"limit": 100},
                          headers=bearer(secured.token)).json()["items"]
        return sum(1 for i in items if i["report_id"] in reports and i["alerts_delivered"] == 2) == 2

    wait_for(escalated, 45, what="both reports escalated with their alerts delivered")
    officer = bearer(person_token(secured.bus(OPERATOR), "secured-officer", roles=(Role.DESK_OFFICER,)))
    incident = next(i for i in httpx.get(f"{secured.projection}/v1/incidents", headers=officer).json()["items"]
                    if i["report_id"] == answer.json()["report_id"])
    detail = httpx.get(f"{secured.projection}/v1/incidents/{incident['incident_id']}", headers=officer).json()
    assert detail["reporter"]["name"] == "Saksi TPS 05"  # sealed by intake, opened and recorded by projection
    service_users = [f'"$G/user:{name}"' for name in SERVICES] + ['"$G/user:auditor"']
    violations = [line for line in secured.server_log().splitlines()
                  if "Violation" in line and any(user in line for user in service_users)]
    assert violations == []


def test_no_one_connects_without_a_desk_user(secured: Secured) -> None:
    async def attempt(**credentials: str) -> None:
        with pytest.raises((NoServersError, nats.errors.Error, OSError)):
            await nats.connect(secured.nats.url, allow_reconnect=False, max_reconnect_attempts=0,
                               connect_timeout=3, **credentials)

    asyncio.run(attempt())
    asyncio.run(attempt(user="intake", password="wrong"))
    asyncio.run(attempt(user=_agency_user(secured.agency_key), password=secured.agency_key[:-1] + "x"))


# ----------------------------------------------------------------------------- role by role
def test_an_agency_may_only_submit_its_own_reports_and_hear_its_own_replies(secured: Secured) -> None:
    async def run() -> None:
        user = _agency_user(secured.agency_key)
        async with probe(secured, user, secured.agency_key) as agency:
            for subject in [subjects.intake_report_subject("bawaslu"), "desk.event.report.submitted",
                            "desk.deadletter.triage", *STREAM_CHANGES, f"$JS.API.STREAM.INFO.{EVENTS}",
                            f"$JS.API.CONSUMER.CREATE.{EVENTS}", "$KV.desk_positions.triage"]:
                assert await agency.publish_refused(subject), subject
            for subject in ["desk.event.>", "desk.intake.>", "_INBOX.>", "_INBOX.intake.>", ">"]:
                assert await agency.subscribe_refused(subject), subject
            assert not await agency.publish_refused(subjects.intake_report_subject("kpu"))

    asyncio.run(run())


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_cannot_change_streams_or_speak_for_another(secured: Secured, service: str) -> None:
    others = {name: needs for name, needs in SERVICES.items() if name != service}
    foreign_events = {event.subject for needs in others.values() for event in needs.publishes} - {
        event.subject for event in SERVICES[service].publishes}
    foreign_consumers = [needs.durable for needs in others.values() if needs.durable]

    async def run() -> None:
        async with probe(secured, service) as me:
            assert me.nc
            for subject in [*STREAM_CHANGES, *sorted(foreign_events), "desk.event.agency.registered",
                            *(f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS}.{c}" for c in foreign_consumers),
                            *(f"$JS.API.CONSUMER.DELETE.{EVENTS}.{c}" for c in foreign_consumers),
                            *(f"$KV.desk_positions.{c}" for c in foreign_consumers)]:
                assert await me.publish_refused(subject), subject
            for subject in ["_INBOX.>", "desk.event.>"]:
                assert await me.subscribe_refused(subject), subject
            info = await me.nc.jetstream().stream_info(EVENTS)  # allowed: it reads the log's state
            assert info.state.last_seq > 0

    asyncio.run(run())


def test_the_auditor_reads_the_whole_log_and_changes_nothing(secured: Secured) -> None:
    async def run() -> None:
        async with probe(secured, AUDITOR) as auditor:
            assert auditor.nc
            js = auditor.nc.jetstream()
            last = (await js.stream_info(EVENTS)).state.last_seq
            assert last > 0
            subscription = await js.subscribe(subjects.ALL_EVENTS, stream=EVENTS, ordered_consumer=True)
            seen = [await subscription.next_msg(timeout=5) for _ in range(last)]
            await subscription.unsubscribe()
            assert [m.metadata.sequence.stream for m in seen] == list(range(1, last + 1))
            assert (await js.get_msg(EVENTS, 1, direct=True)).seq == 1
            pulled = await js.pull_subscribe("", stream=DEAD, config=ConsumerConfig(inactive_threshold=10))
            await pulled.unsubscribe()
            for subject in [*STREAM_CHANGES, "desk.event.report.submitted", subjects.intake_report_subject("kpu"),
                            f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS}.triage", f"$JS.API.CONSUMER.DELETE.{EVENTS}.notify",
                            f"$JS.API.CONSUMER.CREATE.{EVENTS}.triage", f"$JS.API.STREAM.CREATE.{EVENTS}",
                            "$KV.desk_positions.triage", f"$JS.ACK.{EVENTS}.triage.1.1.1.1.1"]:
                assert await auditor.publish_refused(subject), subject
            assert await auditor.subscribe_refused("desk.intake.>")

    asyncio.run(run())


def test_only_the_operator_may_update_purge_and_delete_streams(secured: Secured) -> None:
    async def run() -> None:
        async with probe(secured, OPERATOR) as operator:
            assert operator.nc
            js = operator.nc.jetstream()
            await js.add_stream(StreamConfig(name="SCRATCH", subjects=["scratch.>"]))
            await js.publish("scratch.one", b"1")
            await js.update_stream(StreamConfig(name="SCRATCH", subjects=["scratch.>"], description="changed"))
            await js.purge_stream("SCRATCH")
            assert (await js.stream_info("SCRATCH")).state.messages == 0
            async with probe(secured, "triage") as triage:
                assert await triage.publish_refused("$JS.API.STREAM.DELETE.SCRATCH")
            assert await js.delete_stream("SCRATCH")
            assert operator.errors == []

    asyncio.run(run())


def test_a_revoked_key_loses_its_nats_user_within_seconds(secured: Secured) -> None:
    operator = secured.bus(OPERATOR)
    key = asyncio.run(_provision(operator, "camat-putri-betung", Areas(kecamatan=("11.13.05",))))
    user = _agency_user(key)
    assert secured.nats.authorization
    wait_for(lambda: user in secured.nats.authorization.read_text(), 15, what="the new key's NATS user")

    async def run() -> float:
        async with probe(secured, user, key) as agency:
            assert agency.nc
            reply = await agency.nc.request(subjects.intake_report_subject("camat-putri-betung"), json.dumps({
                "kecamatan": "11.13.05", "text": "Spanduk paslon dirusak orang tak dikenal."}).encode(), timeout=10)
            assert json.loads(reply.data)["status"] == "accepted"
            async with session(operator) as js:
                registry = await current_registry(js, operator)
                revoked = revoke(registry, key_id=keys.parse(key).key_id, reason="bocor",  # type: ignore[union-attr]
                                 actor=Actor(kind="person", id="test-operator"), producer="test")
                await append(js, operator, [revoked])
            revoked_at = time.monotonic()
            await asyncio.wait_for(agency.disconnected.wait(), 15)  # TimeoutError: it stayed connected
            return time.monotonic() - revoked_at

    took = asyncio.run(run())
    print(f"revoked key's NATS connection closed after {took:.2f} s")
    with pytest.raises((NoServersError, nats.errors.Error, OSError)):
        asyncio.run(nats.connect(secured.nats.url, user=user, password=key, allow_reconnect=False,
                                 max_reconnect_attempts=0, connect_timeout=3))
