"""A running system for cross-service tests: the four services as separate processes on a
real nats-server, SQLite read models, and an alert inbox as every liaison's webhook (module scope)."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from desk_pemilu.embedded_nats import free_port
from desk_pemilu.inbox import Inbox
from desk_pemilu.processes import ServiceProcess, answers, service_processes, stop_all
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key, bearer
from desk_testing.fixtures import bus_env, fresh_bus, read_stream, wait_for
from desk_testing.people import person_token


@dataclass
class RunningSystem:
    bus: BusSettings
    intake: str
    projection: str
    inbox: Inbox
    processes: list[ServiceProcess]
    key: str
    """An API key of agency `test-agency`, which may report from anywhere."""
    token: str
    """A bearer token of a leader who sees everywhere: for the projection's API."""
    access: str
    triage: str
    notify: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.key)

    @property
    def reader(self) -> dict[str, str]:
        return bearer(self.token)

    def events(self, event_type: str | None = None) -> list[dict]:
        found = [json.loads(data) for _, _, data in read_stream(self.bus)]
        return [e for e in found if event_type is None or e["type"] == event_type]

    def incident_of(self, report_id: str) -> dict | None:
        """The projected incident the report is in (opened by it, or joined), once triage placed it."""
        triaged = next((e for e in self.events("ReportTriaged") if e["payload"]["report_id"] == report_id), None)
        if triaged is None:
            return None
        answer = httpx.get(f"{self.projection}/v1/incidents/{triaged['payload']['incident_id']}",
                           headers=self.reader)
        return answer.json() if answer.status_code == 200 else None

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)


@pytest.fixture(scope="module")
def system(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(nats_url, tmp_path_factory.mktemp("system")) as running:
        yield running


@contextlib.contextmanager
def running_system(nats_url: str, home: Path, **settings: str) -> Iterator[RunningSystem]:
    """Every service as its own process on fresh streams, with `settings` added to their environment."""
    bus = fresh_bus(nats_url)
    inbox = Inbox(0)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    contacts = home / "contacts.toml"
    contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{inbox.server_port}/alerts"\n')
    ports = {name: free_port() for name in ("INTAKE", "PROJECTION", "ACCESS", "TRIAGE", "NOTIFY")}
    env = bus_env(bus) | {f"DESK_{name}_PORT": str(port) for name, port in ports.items()} | {
        "DESK_PROJECTION_DATABASE_URL": f"sqlite:///{home / 'projection.db'}",
        "DESK_NOTIFY_CONTACTS_FILE": str(contacts),
    } | settings
    key, token = agency_key(bus), person_token(bus, "test-leader")
    processes = service_processes(env, home)
    for p in processes:
        p.start()
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    running = RunningSystem(bus, url["INTAKE"], url["PROJECTION"], inbox, processes, key, token, url["ACCESS"],
                            url["TRIAGE"], url["NOTIFY"])
    try:
        for address in url.values():
            wait_for(lambda address=address: answers(address + "/health"), 60, what=f"{address} to serve")
        yield running
    finally:
        stop_all(processes)
        inbox.shutdown()
        print(running.logs())
    # uvicorn re-raises the SIGTERM it handled, so -15 is a clean stop too; -9 means it had to be killed
    codes = {p.name: p.process.returncode for p in processes if p.process}
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
