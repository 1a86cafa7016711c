"""The whole desk in containers, as deploy/compose.yaml defines it: the images built from deploy/, a
3-node NATS cluster (streams R3), PostgreSQL, two replicas of intake, triage and notify. Reports go in
through intake's containers; one NATS node and one replica of each service are killed with SIGKILL
while reports arrive. Nothing is lost or doubled and the alerts still reach the receiver.

Runs wherever a Docker engine or podman is (several minutes the first time: the images are built);
skipped, saying so, on a machine with neither."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest
from sqlalchemy import create_engine, text

from desk_access.nats_authorization import AUDITOR, OPERATOR
from desk_audit.notes import SigningKey
from desk_pemilu.containers.desk import NATS_PORTS, PORTS, ComposeDesk, secrets_kept
from desk_pemilu.containers.engine import find_engine, why_no_engine
from desk_pemilu.containers.images import base_image, build_images
from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import service_command
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key, bearer
from desk_testing.fixtures import read_stream, wait_for

ENGINE = find_engine()
pytestmark = [pytest.mark.system, pytest.mark.timeout(1800),
              pytest.mark.skipif(ENGINE is None, reason=why_no_engine())]

KECAMATAN = [f"11.13.{n:02d}" for n in range(1, 12)]
CRITICAL = "Massa membawa parang mendatangi TPS {tps} dan membakar kotak suara, dua petugas KPPS luka-luka."
CALM = "Kepala desa memasang foto bersama paslon di akun Facebook pribadinya, ref {ref}."
INTAKES = ("DESK_INTAKE_PORT", "DESK_INTAKE_PORT_2")
KILLED = ("n2", "intake-1", "triage-1", "notify-1", "projection", "audit")
"""One NATS node and one replica of each service (projection's and the sealer's only one: started again)."""
SINGLE = ("projection", "audit")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeDesk]:
    assert ENGINE is not None
    base = base_image(ENGINE)
    build_images(ENGINE, base)
    ports: set[int] = set()
    while len(ports) < len(PORTS):  # distinct: the same free port twice would fail the start
        ports.add(free_port())
    env = dict(zip(PORTS, map(str, ports), strict=True)) | secrets_kept(tmp_path_factory.mktemp("desk")) | {
        "DESK_IMAGE_BASE": base}
    running = ComposeDesk(ENGINE, env, project=f"desk-test-{uuid.uuid4().hex[:6]}")
    try:
        running.up()
        unhealthy = running.wait_healthy([*INTAKES, "DESK_PROJECTION_PORT", "DESK_ACCESS_PORT", "DESK_INBOX_PORT",
                                          "DESK_AUDIT_PORT"])
        assert not unhealthy, f"not healthy: {unhealthy}\n" + running.logs("projection")
        yield running
    finally:
        running.down(volumes=True)


def submit(desk: ComposeDesk, key: str, n: int, text: str, kecamatan: str) -> str:
    """One report through intake's containers, as a producer sends it: the same idempotency key to the
    other replica when one does not answer. The accepted report's id."""
    body = {"kecamatan": kecamatan, "text": text}
    headers = bearer(key) | {"Idempotency-Key": f"container-test-{n}"}
    for attempt in range(40):
        intake = desk.url(INTAKES[(n + attempt) % 2])
        try:
            answer = httpx.post(f"{intake}/v1/reports", json=body, headers=headers, timeout=10)
        except httpx.TransportError:
            time.sleep(0.25)
            continue
        if answer.status_code == 202:
            return answer.json()["report_id"]
        assert answer.status_code >= 500, answer.text  # a refusal would be a bug; an outage is retried
        time.sleep(0.25)
    pytest.fail(f"report {n} was accepted by no intake replica")


def report_text(n: int) -> tuple[str, str]:
    """Every fifth report is critical (escalated, alerted); each in a kecamatan of Gayo Lues."""
    if n % 5 == 0:
        return CRITICAL.format(tps=n), KECAMATAN[n // 5 % len(KECAMATAN)]
    return CALM.format(ref=uuid.uuid4().hex[:8]), KECAMATAN[n % len(KECAMATAN)]


def test_every_service_runs_as_a_user_and_passes_its_images_health_check(desk: ComposeDesk) -> None:
    services = ["access", "projection", "audit", *(f"{s}-{n}" for s in ("intake", "triage", "notify") for n in (1, 2))]
    assert {s: desk.user(s) for s in services} == {s: ["10001"] for s in services}
    assert wait_for(lambda: [s for s in services if desk.healthy(s)] == services or None, 60, 2,
                    what="every service's health check passing")
    assert desk.user("n1") == ["10002"] and desk.healthy("n1") and desk.healthy("postgres")


def test_only_the_desks_users_get_into_its_nats(desk: ComposeDesk) -> None:
    operator = desk.bus(OPERATOR)

    async def refused(user: str | None, password: str | None) -> str | None:
        errors: list[str] = []

        async def noted(error: Exception) -> None:
            errors.append(repr(error))

        try:
            client = await nats.connect(operator.servers, user=user, password=password, allow_reconnect=False,
                                        connect_timeout=5, error_cb=noted)
        except Exception as error:
            return repr(error) + " ".join(errors)
        await client.close()
        return None

    assert "Authorization Violation" in (asyncio.run(refused(None, None)) or "")
    assert "Authorization Violation" in (asyncio.run(refused(OPERATOR, "not-the-password")) or "")
    assert asyncio.run(refused(OPERATOR, operator.nats_password)) is None


def test_the_container_desk_loses_nothing_when_a_nats_node_and_a_replica_of_each_service_die(
        desk: ComposeDesk) -> None:
    assert ENGINE is not None
    survivors = tuple(v for v in NATS_PORTS if v != "DESK_NATS_PORT_2")
    key = agency_key(desk.bus(OPERATOR, survivors))
    bus = desk.bus(AUDITOR, survivors)

    accepted = [submit(desk, key, n, *report_text(n)) for n in range(40)]
    for service in KILLED:
        desk.kill(service)
    assert [desk.running(service) for service in KILLED] == [[False]] * len(KILLED)
    accepted += [submit(desk, key, n, *report_text(n)) for n in range(40, 80)]
    for container in [c for service in SINGLE for c in desk.containers(service)]:  # back, as an orchestrator would
        ENGINE.run(ENGINE.command("start", container))

    def events() -> list[dict]:
        return [json.loads(data) for _, _, data in log_of(bus)]

    def settled() -> list[dict] | None:
        found = events()
        types = Counter(e["type"] for e in found)
        requested = {e["payload"]["alert_id"] for e in found if e["type"] == "AlertRequested"}
        outcomes = {e["payload"]["alert_id"] for e in found if e["type"] in ("AlertDelivered", "AlertFailed")}
        done = types["ReportTriaged"] >= len(accepted) and requested and requested <= outcomes
        return found if done else None

    found = wait_for(settled, 240, 2, what="every report triaged and every alert's outcome in the log")
    types = Counter(e["type"] for e in found)

    # nothing lost, nothing doubled: each accepted report submitted once and placed once
    submitted = Counter(e["payload"]["report_id"] for e in found if e["type"] == "ReportSubmitted")
    triaged = Counter(e["payload"]["report_id"] for e in found if e["type"] == "ReportTriaged")
    assert len(set(accepted)) == 80
    assert submitted == triaged == Counter(accepted)
    # every alert went out once, and reached the receiver
    delivered = Counter(e["payload"]["alert_id"] for e in found if e["type"] == "AlertDelivered")
    assert types["AlertFailed"] == 0 and delivered and max(delivered.values()) == 1
    received = {a["alert_id"] for a in httpx.get(desk.url("DESK_INBOX_PORT") + "/").json()["alerts"]}
    assert set(delivered) <= received
    # alerts still arrive after the kills: the critical reports sent after them were alerted
    incident_of = {e["payload"]["report_id"]: e["payload"]["incident_id"]
                   for e in found if e["type"] == "ReportTriaged"}
    alerted = {e["payload"]["incident_id"] for e in found if e["type"] == "AlertDelivered"}
    late_critical = [accepted[n] for n in range(40, 80) if n % 5 == 0]
    assert all(incident_of[r] in alerted for r in late_critical)

    # the projection (restarted after its kill) holds every event once, in PostgreSQL
    last = max(seq for seq, _, _ in log_of(bus))
    wait_for(lambda: (health := projection_health(desk)) and health["position"] >= last, 120, 1,
             what="the projection at the end of the log")
    database = create_engine(f"postgresql+psycopg://desk:{desk.env['POSTGRES_PASSWORD']}"
                             f"@127.0.0.1:{desk.port('DESK_POSTGRES_PORT')}/desk")
    try:
        with database.connect() as conn:
            reports = Counter(r for (r,) in conn.execute(text("SELECT report_id FROM reports")))
            checked = "event_type IN ('ReportSubmitted', 'ReportTriaged', 'AlertDelivered')"
            timeline = Counter(dict(conn.execute(text(
                f"SELECT event_type, count(*) FROM timeline WHERE {checked} GROUP BY event_type")).all()))
            doubled = conn.execute(text(
                f"SELECT event_id FROM timeline WHERE {checked} GROUP BY event_id HAVING count(*) > 1")).all()
    finally:
        database.dispose()
    assert Counter(str(r) for r in reports.elements()) == Counter(accepted)
    assert timeline == {t: types[t] for t in ("ReportSubmitted", "ReportTriaged", "AlertDelivered")}
    assert doubled == []


def log_of(bus: BusSettings) -> list[tuple[int, str, bytes]]:
    """The log, read again while the cluster briefly gives no answer (a leader being elected after the
    kill, more often on a busy machine)."""
    def read() -> list[tuple[int, str, bytes]] | None:
        try:
            return read_stream(bus)
        except (nats.errors.Error, TimeoutError):
            return None

    return wait_for(read, 60, 1, what="the log, read through the surviving nodes")


def projection_health(desk: ComposeDesk) -> dict | None:
    try:
        return httpx.get(desk.url("DESK_PROJECTION_PORT") + "/health", timeout=5).json()
    except (httpx.TransportError, ValueError):
        return None


def test_the_sealer_restarted_after_its_kill_sealed_a_log_that_verifies(desk: ComposeDesk) -> None:
    """After the kills above: the whole log is sealed, and `desk-audit verify` (as the read-only auditor,
    with the desk's public key) finds no change, gap or reordering."""
    auditor = desk.bus(AUDITOR, tuple(v for v in NATS_PORTS if v != "DESK_NATS_PORT_2"))

    def sealed() -> bool:
        messages = len(log_of(auditor))
        health = httpx.get(desk.url("DESK_AUDIT_PORT") + "/health", timeout=5).json()
        return health["seal_seq"] == messages and health["sealed_to"] == messages - 1

    wait_for(sealed, 90, 2, what="the log sealed up to its last seal")
    log_key = SigningKey.parse(Path(desk.env["DESK_AUDIT_KEY_FILE"]).read_text()).verifier.text()
    env = {"DESK_NATS_URL": auditor.nats_url, "DESK_NATS_USER": AUDITOR, "DESK_NATS_PASSWORD": auditor.nats_password}
    done = subprocess.run(service_command("desk_audit", "verify", "--log-key", log_key, "--no-progress"),
                          env=os.environ | env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: no change, gap or reordering" in done.stdout
    assert int(re.search(r"(\d+) seals", done.stdout).group(1)) >= 1
