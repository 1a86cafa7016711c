"""Triage and notify as separate processes on a real nats-server: a consumer that lost its
server-side state resumes after its tracked position (nothing re-emitted, no alert re-sent, even
past the duplicate window), and replaying a log through the services derives the same events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desk_pemilu.inbox import Inbox
from desk_pemilu.processes import SERVICES, ServiceProcess, service_command, stop_all
from desk_shared.contracts.events import Actor, ReportSubmitted, ReportSubmittedPayload, derived_id, utc_now
from desk_shared.runtime.bus import connect
from desk_shared.runtime.positions import PositionStore
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.fixtures import bus_env, fresh_bus, read_stream, wait_for

pytestmark = pytest.mark.system

DUPLICATE_WINDOW = 2.0
CRITICAL = "Massa membawa parang menyerang TPS {n:02d}, dua petugas KPPS luka-luka."
CALM = "Kepala desa memasang foto bersama paslon nomor {n} di akun Facebook pribadinya."


def report(n: int, text: str) -> ReportSubmitted:
    report_id = derived_id(f"positions-test-{n}", "report")
    at = utc_now()
    return ReportSubmitted(event_id=report_id, occurred_at=at, recorded_at=at, correlation_id=report_id,
                           producer="test", actor=Actor.agency("polres"), payload=ReportSubmittedPayload(
                               report_id=report_id, agency="polres", channel="nats", kecamatan_code="11.13.01",
                               text=text.format(n=n)))


def publish(bus: BusSettings, events: list[ReportSubmitted]) -> None:
    async def run() -> None:
        nc = await connect(bus, "test-publisher")
        await ensure_streams(nc.jetstream(), bus)
        await EventPublisher(nc.jetstream(), bus).publish_all(events)
        await nc.close()

    asyncio.run(run())


def delete_consumers(bus: BusSettings, *names: str) -> None:
    async def run() -> None:
        nc = await connect(bus, "test-operator")
        for name in names:
            with contextlib.suppress(Exception):
                await nc.jetstream().delete_consumer(bus.stream_name, name)
        await nc.close()

    asyncio.run(run())


def consumers_exist(bus: BusSettings, *names: str) -> bool:
    async def run() -> bool:
        nc = await connect(bus, "test-operator")
        try:
            for name in names:
                await nc.jetstream().consumer_info(bus.stream_name, name)
            return True
        except Exception:
            return False
        finally:
            await nc.close()

    return asyncio.run(run())


def positions_recorded(bus: BusSettings, *names: str) -> bool:
    """Each consumer has finished all it was given and its tracked position says so."""
    async def run() -> bool:
        nc = await connect(bus, "test-operator")
        try:
            js = nc.jetstream()
            store = await PositionStore.open(js, bus)
            for name in names:
                info = await js.consumer_info(bus.stream_name, name)
                position = await store.get(name)
                if info.num_pending or info.num_ack_pending or position is None \
                        or position.seq != info.ack_floor.stream_seq:
                    return False
            return True
        finally:
            await nc.close()

    return asyncio.run(run())


def log_of(bus: BusSettings) -> list[dict]:
    return [json.loads(data) for _, _, data in read_stream(bus)]


class Desk:
    """Triage and notify processes (restartable) with an alert inbox."""

    def __init__(self, bus: BusSettings, home: Path) -> None:
        self.inbox = Inbox(0)
        threading.Thread(target=self.inbox.serve_forever, daemon=True).start()
        contacts = home / "contacts.toml"
        contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{self.inbox.server_port}/a"\n')
        env = bus_env(bus) | {"DESK_NOTIFY_CONTACTS_FILE": str(contacts),
                              "DESK_DUPLICATE_WINDOW_SECONDS": str(bus.duplicate_window_seconds),
                              "DESK_TRIAGE_PORT": "0", "DESK_NOTIFY_PORT": "0"}
        self.processes = [ServiceProcess(name, service_command(*SERVICES[name]), env, home / f"{name}.log")
                          for name in ("triage", "notify")]

    def start(self) -> None:
        for p in self.processes:
            p.start()

    def stop(self) -> None:
        stop_all(self.processes)

    def alerts(self) -> list[dict]:
        with self.inbox.lock:
            return list(self.inbox.alerts)

    def close(self) -> None:
        self.stop()
        self.inbox.shutdown()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)


@pytest.fixture
def desk_factory(nats_url: str, tmp_path: Path) -> Iterator[Callable[..., Desk]]:
    made: list[Desk] = []

    def make(bus: BusSettings, name: str = "desk") -> Desk:
        home = tmp_path / name
        home.mkdir()
        made.append(Desk(bus, home))
        return made[-1]

    yield make
    for desk in made:
        desk.close()
        print(desk.logs())


def test_recreated_consumers_resume_after_their_position_even_past_the_duplicate_window(
        nats_url: str, desk_factory: Callable[..., Desk]) -> None:
    bus = fresh_bus(nats_url).model_copy(update={"duplicate_window_seconds": DUPLICATE_WINDOW})
    desk = desk_factory(bus)
    first = [report(n, CRITICAL if n % 2 else CALM) for n in range(6)]
    publish(bus, first)
    desk.start()
    # three critical reports in one kecamatan: two alerts each, and the kecamatan's rise to siaga
    # and then awas alerts its two liaisons and the regency desk each time
    wait_for(lambda: len(desk.alerts()) == 12, 30, what="the three critical reports' alerts")
    wait_for(lambda: positions_recorded(bus, "triage", "notify"), 10, what="positions recorded once idle")

    delete_consumers(bus, "triage", "notify")  # while the services run: they notice and recreate them
    wait_for(lambda: consumers_exist(bus, "triage", "notify"), 30, what="both consumers recreated")
    desk.stop()
    delete_consumers(bus, "triage", "notify")  # gone again (a new server, a restore) ...
    time.sleep(DUPLICATE_WINDOW + 1.5)  # ... and JetStream no longer drops repeated Msg-Ids
    desk.start()
    publish(bus, [report(6, CRITICAL)])
    wait_for(lambda: len(desk.alerts()) >= 14, 30, what="the new report's two alerts")
    time.sleep(2.0)  # anything re-sent would arrive now

    kinds = Counter(e["type"] for e in log_of(bus))
    assert (kinds["ReportSubmitted"], kinds["ReportTriaged"], kinds["IncidentEscalated"],
            kinds["AreaAlertLevelChanged"], kinds["AlertRequested"], kinds["AlertDelivered"]) == (
        7, 7, 4, 2, 14, 14), (kinds, desk.logs())
    assert kinds["IncidentOpened"] + kinds["IncidentReportAdded"] == 7  # every report placed once
    alerts = desk.alerts()
    assert len(alerts) == 14 and len({a["alert_id"] for a in alerts}) == 14
    assert "after its tracked position" in desk.logs()


def test_replaying_a_log_through_the_services_derives_the_same_events(nats_url: str,
                                                                      desk_factory: Callable[..., Desk]) -> None:
    reports = [report(100 + n, CRITICAL if n % 3 == 0 else CALM) for n in range(9)]

    def run_once(name: str) -> list[dict]:
        bus = fresh_bus(nats_url)
        desk = desk_factory(bus, name)
        publish(bus, reports)
        desk.start()
        wait_for(lambda: len(desk.alerts()) == 12, 30, what="the alerts of the three critical reports")
        desk.stop()
        # outcomes happen in the outside world; the contact list is notify's input, recorded as it starts
        return [e for e in log_of(bus) if e["type"] not in ("AlertDelivered", "AlertFailed", "ContactRegistered")]

    def essence(events: list[dict]) -> list[tuple]:
        """What a replay must reproduce: ids, types, causes, payloads, times of occurrence."""
        return sorted((e["event_id"], e["type"], e["causation_id"], e["occurred_at"], e["actor"],
                       json.dumps(e["payload"], sort_keys=True)) for e in events)

    first, second = run_once("first"), run_once("second")
    kinds = Counter(e["type"] for e in first)
    assert (kinds["ReportSubmitted"], kinds["ReportTriaged"], kinds["IncidentEscalated"],
            kinds["AreaAlertLevelChanged"], kinds["AlertRequested"]) == (9, 9, 3, 2, 12), kinds
    assert essence(first) == essence(second)
    assert {e["recorded_at"] for e in first} != {e["recorded_at"] for e in second}  # the one field that may differ
