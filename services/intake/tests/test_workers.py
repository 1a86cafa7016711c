"""DESK_INTAKE_WORKERS: several intake processes share the HTTP port and the NATS queue
group; a stop (or the supervisor's death) leaves none of them behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import nats
import pytest

from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.contracts import subjects
from desk_shared.contracts.events import ReportSubmitted
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key, bearer
from desk_testing.fixtures import bus_env, read_stream, wait_for

pytestmark = pytest.mark.system


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_intake(bus: BusSettings, tmp_path: Path, workers: int) -> tuple[ServiceProcess, str]:
    port = free_port()
    intake = ServiceProcess("intake", service_command("desk_intake"), bus_env(bus) | {
        "DESK_INTAKE_PORT": str(port), "DESK_INTAKE_WORKERS": str(workers)}, tmp_path / "intake.log").start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _healthy(url), 60, what="intake to serve")
    return intake, url


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_workers_share_both_doors_and_stop_together(bus: BusSettings, tmp_path: Path) -> None:
    key = agency_key(bus)
    intake, url = start_intake(bus, tmp_path, workers=2)
    try:
        assert intake.process
        workers = wait_for(lambda: (found := children(intake.process.pid)) and len(found) == 2 and found, 30,
                           what="two worker processes")

        def post(n: int) -> int:
            with httpx.Client() as client:  # a connection each, so the kernel hands them to both workers
                body = {"kecamatan": "11.13.01", "text": f"Laporan uji {n}"}
                return client.post(url + "/v1/reports", json=body,
                                   headers={"Idempotency-Key": f"w-{n}"} | bearer(key)).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(post, range(40))) == [202] * 40

        async def ask_all() -> list[str]:
            nc = await nats.connect(bus.nats_url)
            try:
                replies = await asyncio.gather(*(
                    nc.request(subjects.intake_report_subject("test-agency"),
                               json.dumps({"kecamatan": "11.13.01", "text": f"Laporan NATS {n}"}).encode(),
                               timeout=10, headers={"Idempotency-Key": f"n-{n}"}) for n in range(40)))
                return [json.loads(r.data)["status"] for r in replies]
            finally:
                await nc.close()

        assert asyncio.run(ask_all()) == ["accepted"] * 40
        assert len([s for _, s, _ in read_stream(bus) if s == ReportSubmitted.subject]) == 80
    finally:
        code = intake.stop()
        print(intake.output()[-3000:])
    assert code in (0, -signal.SIGTERM)
    wait_for(lambda: not any(alive(w) for w in workers), 10, what="the workers to stop with the supervisor")


def test_workers_stop_when_their_supervisor_is_killed(bus: BusSettings, tmp_path: Path) -> None:
    intake, _ = start_intake(bus, tmp_path, workers=2)
    assert intake.process
    workers = wait_for(lambda: (found := children(intake.process.pid)) and len(found) == 2 and found, 30,
                       what="two worker processes")
    os.kill(intake.process.pid, signal.SIGKILL)
    intake.process.wait()
    wait_for(lambda: not any(alive(w) for w in workers), 15, what="the orphaned workers to stop")
