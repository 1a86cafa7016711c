"""Past one machine by configuration alone: intake on a 3-node JetStream cluster (R3).

The stream leader is killed while agencies keep submitting: intake retries with the same
Msg-Id through the leader election, so every report it accepted is in the log exactly once,
and a client that got 503 and retried with its idempotency key made no duplicate either."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import nats
import pytest

from desk_pemilu.embedded_nats import ClusterRoute, EmbeddedNats, free_port
from desk_pemilu.processes import ServiceProcess, answers, service_command
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key, bearer
from desk_testing.fixtures import read_stream, wait_for

pytestmark = pytest.mark.system

REPORTS = 150
KILL_AT = 50


def start_cluster(root: Path) -> list[EmbeddedNats]:
    route_ports = tuple(free_port() for _ in range(3))
    nodes = [EmbeddedNats(root / f"n{i}", free_port(), cluster=ClusterRoute(f"n{i}", port, route_ports))
             for i, port in enumerate(route_ports, start=1)]
    for node in nodes:
        node.start(log_file=root / f"{node.cluster.name}.log")  # type: ignore[union-attr]
    return nodes


async def stream_leader(bus: BusSettings) -> str | None:
    nc = await nats.connect(bus.servers)
    try:
        info = await nc.jetstream().stream_info(bus.stream_name)
        return info.cluster.leader if info.cluster and len(info.cluster.replicas or []) == 2 else None
    except Exception:
        return None
    finally:
        await nc.close()


def test_killing_the_stream_leader_loses_and_doubles_nothing(tmp_path: Path) -> None:
    nodes = start_cluster(tmp_path)
    bus = BusSettings(nats_url=",".join(n.url for n in nodes), stream_replicas=3)
    port = free_port()
    intake = ServiceProcess("intake", service_command("desk_intake"), {
        "DESK_NATS_URL": bus.nats_url, "DESK_STREAM_REPLICAS": "3", "DESK_INTAKE_PORT": str(port),
    }, tmp_path / "intake.log").start()
    url = f"http://127.0.0.1:{port}/v1/reports"
    replies: dict[str, list[int]] = {}
    accepted: dict[str, str] = {}
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/health"), 60, what="intake on the cluster")
        leader = wait_for(lambda: asyncio.run(stream_leader(bus)), 30, what="an R3 stream with a leader")
        auth = bearer(agency_key(bus))
        with httpx.Client(timeout=30, headers=auth) as client:
            for i in range(REPORTS):
                if i == KILL_AT:
                    next(n for n in nodes if n.cluster and n.cluster.name == leader).process.kill()  # type: ignore[union-attr]
                key = f"cluster-{i}"
                body = {"kecamatan": "17.04.01", "text": f"Laporan uji klaster nomor {i}", "idempotency_key": key}
                for _ in range(5):  # a client retries a 503 with the same key, as the 503 asks
                    answer = client.post(url, json=body)
                    replies.setdefault(key, []).append(answer.status_code)
                    if answer.status_code == 202:
                        accepted[key] = answer.json()["report_id"]
                        break
        new_leader = asyncio.run(stream_leader(BusSettings(
            nats_url=",".join(n.url for n in nodes if n.process and n.process.poll() is None))))
    finally:
        intake.stop()
        for node in nodes:
            node.stop()
        print(intake.output()[-3000:])

    statuses = Counter(code for codes in replies.values() for code in codes)
    print("answers:", dict(statuses), "leader before:", leader, "after:", new_leader)
    assert len(accepted) == REPORTS, f"not all accepted: {dict(statuses)}"
    assert set(statuses) <= {202, 503}
    assert new_leader and new_leader != leader

    for node in nodes:  # read the log back from the two survivors and the restarted leader
        node.start(log_file=tmp_path / "restart.log")
    try:
        wait_for(lambda: asyncio.run(stream_leader(bus)), 30, what="the cluster back with a leader")
        events = [json.loads(data) for _, _, data in wait_for(lambda: _read(bus), 30, what="the log")]
    finally:
        for node in nodes:
            node.stop()
    report_ids = Counter(e["payload"]["report_id"] for e in events if e["type"] == "ReportSubmitted")
    assert set(report_ids) == set(accepted.values())
    assert max(report_ids.values()) == 1


def _read(bus: BusSettings) -> list[tuple[int, str, bytes]] | None:
    try:
        return read_stream(bus)
    except Exception as exc:  # the restarted cluster may still be catching up
        print("reading the log:", repr(exc))
        return None
