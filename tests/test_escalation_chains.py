"""Escalation chains across processes: two notify replicas, one killed -9 mid-chain and started
again, still alert each step once and on time; through the whole system, a kritis report's
chain reaches its first step and a liaison stops it through notify's API."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from desk_pemilu.inbox import Inbox
from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.access.people import Role
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.events import Actor, IncidentEscalated, IncidentEscalatedPayload, utc_now
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.agencies import bearer
from desk_testing.fixtures import bus_env, fresh_bus, read_stream, wait_for
from desk_testing.people import person_token
from desk_testing.policies import Rule, policy_toml
from desk_testing.system import RunningSystem

pytestmark = pytest.mark.system

STEP_SECONDS = 4
POLICY = policy_toml(Rule(steps=[["polsek"], ["polres"]], ack_within_minutes=STEP_SECONDS / 60, rounds=2))
CHAINS = 5
LATE_SECONDS = 6.0
"""A step is on time when appended within this of its deadline: a notify started again after
kill -9 needs a few seconds to start and read the log."""


def escalations() -> list[IncidentEscalated]:
    now = utc_now()
    return [IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(), producer="triage",
        actor=Actor.service("triage"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code=f"11.13.0{n + 1}",
            category=Category.VIOLENCE, severity=Severity.KRITIS, summary=f"Bentrok di TPS 0{n + 1}.", liaisons=()))
        for n in range(CHAINS)]


async def publish(bus: BusSettings, events: list[IncidentEscalated]) -> None:
    nc = await connect(bus, "test-publisher")
    await ensure_streams(nc.jetstream(), bus)
    await EventPublisher(nc.jetstream(), bus).publish_all(events)
    await nc.close()


def test_a_replica_killed_mid_chain_loses_no_step_and_doubles_none(nats_url: str, tmp_path: Path) -> None:
    bus = fresh_bus(nats_url)
    inbox = Inbox(0)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    contacts, policy = tmp_path / "contacts.toml", tmp_path / "policy.toml"
    contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{inbox.server_port}/alerts"\n')
    policy.write_text(POLICY)
    env = bus_env(bus) | {"DESK_NOTIFY_PORT": "0", "DESK_NOTIFY_CONTACTS_FILE": str(contacts),
                          "DESK_NOTIFY_POLICY_FILE": str(policy), "DESK_NOTIFY_LINK_SECRET": "s" * 40}
    replicas = [ServiceProcess(f"notify-{n}", service_command("desk_notify"), env, tmp_path / f"notify-{n}.log")
                for n in range(2)]
    try:
        for replica in replicas:
            replica.start()
        events = escalations()
        asyncio.run(publish(bus, events))
        wait_for(lambda: len(inbox.alerts) >= CHAINS, 30, what="every chain's first step alerted")
        kill(replicas[:1])  # one replica down across a deadline: the other keeps the chains
        time.sleep(STEP_SECONDS * 0.75)
        replicas[0].start()
        time.sleep(STEP_SECONDS * 0.5)
        kill(replicas)  # all of notify down just before a deadline, and started again at once
        for replica in replicas:
            replica.start()
        # each chain: polsek, polres, polsek, polres (two rounds), then the desk
        wait_for(lambda: len({a["alert_id"] for a in inbox.alerts}) >= 5 * CHAINS, 60,
                 what="every step of every chain alerted")
        time.sleep(STEP_SECONDS + 1)
    finally:
        for replica in replicas:
            replica.stop()
        inbox.shutdown()
    log = [json.loads(data) for _, _, data in read_stream(bus)]
    kinds = Counter(e["type"] for e in log)
    assert kinds["EscalationStarted"] == CHAINS
    assert kinds["EscalationStepReached"] == 3 * CHAINS and kinds["EscalationExhausted"] == CHAINS
    assert kinds["AlertRequested"] == 5 * CHAINS
    assert len({e["event_id"] for e in log}) == len(log)  # nothing appended twice
    late = [e for e in log if e["type"] in ("EscalationStepReached", "EscalationExhausted")
            and _seconds(e["recorded_at"], e["occurred_at"]) > LATE_SECONDS]
    assert late == [], f"a step was appended more than {LATE_SECONDS} s after its deadline"
    per_alert = Counter(a["alert_id"] for a in inbox.alerts)
    assert len(per_alert) == 5 * CHAINS
    # a replica killed between a POST and its outcome posts that alert again (same Idempotency-Key): count them
    assert sum(n - 1 for n in per_alert.values()) <= 2, per_alert


def kill(replicas: list[ServiceProcess]) -> None:
    for replica in replicas:
        replica.process.kill()  # type: ignore[union-attr]
        replica.process.wait()  # type: ignore[union-attr]


def _seconds(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_a_kritis_report_alerts_the_first_step_and_a_liaison_stops_the_chain(system: RunningSystem) -> None:
    text = f"Massa membawa parang menyerang posko paslon, dua orang luka ({uuid.uuid4()})"
    report = httpx.post(f"{system.intake}/v1/reports", headers=system.auth,
                        json={"kecamatan": "11.13.02", "text": text})
    assert report.status_code == 202, report.text
    report_id = report.json()["report_id"]

    def escalated() -> dict | None:
        return next((e for e in system.events("EscalationStarted")
                     if e["payload"]["escalation"]["report_id"] == report_id), None)

    started = wait_for(escalated, 30, what="the report's escalation chain")
    incident_id = started["payload"]["incident_id"]
    assert started["payload"]["rule"] == "kritis"
    wait_for(lambda: {"polsek:11.13.02", "koramil:11.13.02"} <= {
        a["liaison"]["id"] for a in system.inbox.alerts if a.get("incident_id") == incident_id}, 30,
        what="the Polsek and Koramil alerted")
    elsewhere = bearer(person_token(system.bus, "kapolsek.lain", (Role.LIAISON,), Areas(kecamatan=("11.13.03",))))
    liaison = bearer(person_token(system.bus, "kapolsek.blangjerango", (Role.LIAISON,),
                                  Areas(kecamatan=("11.13.02",))))
    url = f"{system.notify}/v1/incidents/{incident_id}"
    assert httpx.post(f"{url}/acknowledgement", headers=elsewhere, json={}).status_code == 404
    assert httpx.post(f"{url}/acknowledgement", headers=system.reader, json={}).status_code == 403  # a leader
    first = httpx.post(f"{url}/acknowledgement", headers=liaison, json={"liaison_id": "polsek:11.13.02"})
    assert first.status_code == 200, first.text
    assert first.json()["first"] is True and first.json()["via"] == "api"
    again = httpx.post(f"{url}/acknowledgement", headers=liaison, json={})
    assert again.status_code == 200 and again.json()["first"] is False
    state = httpx.get(f"{url}/escalation", headers=system.reader).json()
    assert state["acknowledged_by"] == "polsek:11.13.02" and state["step"] == 0
    [ack] = [e for e in system.events("AlertAcknowledged") if e["payload"]["incident_id"] == incident_id]
    assert ack["actor"]["kind"] == "person" and ack["payload"]["person_id"]
