"""Intake when the log is unreachable: 503 with Retry-After, never 202; then it recovers by itself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key, bearer
from desk_testing.fixtures import wait_for

pytestmark = pytest.mark.system


def test_intake_answers_503_while_nats_is_down_and_recovers(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats", free_port())
    server.start(log_file=tmp_path / "nats.log")
    auth = bearer(agency_key(BusSettings(nats_url=server.url)))
    port = free_port()
    intake = ServiceProcess("intake", service_command("desk_intake"), {
        "DESK_NATS_URL": server.url, "DESK_INTAKE_PORT": str(port), "DESK_PUBLISH_RETRY_SECONDS": "2",
    }, tmp_path / "intake.log").start()
    url = f"http://127.0.0.1:{port}/v1/reports"
    report = {"kecamatan": "17.04.01", "text": "Logistik surat suara belum tiba di TPS 05."}
    try:
        wait_for(lambda: _status(url, report, auth) == 202, 30, what="intake to accept a report")

        server.stop()
        answer = httpx.post(url, json=report, timeout=30, headers=auth)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"].isdigit()
        assert answer.json()["title"] == "Event log unavailable"

        server.start(log_file=tmp_path / "nats.log")
        wait_for(lambda: _status(url, report, auth) == 202, 30, what="intake to recover after NATS returned")
        assert intake.alive
    finally:
        intake.stop()
        server.stop()
        print(intake.output()[-3000:])


def _status(url: str, report: dict[str, str], auth: dict[str, str]) -> int:
    try:
        return httpx.post(url, json=report, timeout=30, headers=auth).status_code
    except httpx.HTTPError:
        return 0
