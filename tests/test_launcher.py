"""`./desk up` (the launcher): embedded NATS, four service processes, alerts, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import bearer
from desk_testing.fixtures import read_stream, wait_for

pytestmark = pytest.mark.system


def test_up_runs_the_whole_system_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    ports = {name: str(free_port()) for name in ("INTAKE", "PROJECTION", "INBOX", "EMBEDDED_NATS", "ACCESS", "TRIAGE")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env |= {f"DESK_{name}_PORT": port for name, port in ports.items()} | {"PYTHONUNBUFFERED": "1"}
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "desk_pemilu.cli", "up", "--state-dir", str(tmp_path)],
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    intake, projection = f"http://127.0.0.1:{ports['INTAKE']}", f"http://127.0.0.1:{ports['PROJECTION']}"
    try:
        wait_for(lambda: "Desk Pemilu is running" in log.read_text(), 90, what="the launcher's banner")
        text = log.read_text()
        assert intake in text and projection in text
        answer = httpx.post(f"{intake}/v1/reports", headers=demo_auth(text), json={
            "kecamatan": "11.13.02", "text": "Dua kelompok pendukung bentrok, satu orang luka bacok di dekat TPS 7."})
        assert answer.status_code == 202, answer.text
        report_id = answer.json()["report_id"]

        def escalated() -> dict | None:
            items = httpx.get(f"{projection}/v1/incidents", headers=demo_person(text)).json()["items"]
            return next((i for i in items if i["report_id"] == report_id and i["alerts_delivered"] == 2), None)

        wait_for(escalated, 30, what="the incident escalated with both alerts delivered")
        assert "ALERT for polsek:11.13.02" in log.read_text()
        assert (tmp_path / "nats" / "jetstream").is_dir() and (tmp_path / "projection.db").exists()
        anonymous = subprocess.run([sys.executable, "-c", "import asyncio, nats; asyncio.run(nats.connect("
                                    f"'nats://127.0.0.1:{ports['EMBEDDED_NATS']}', allow_reconnect=False))"],
                                   capture_output=True, text=True, timeout=30)
        assert anonymous.returncode != 0 and "Authorization Violation" in anonymous.stderr
        listing = subprocess.run([sys.executable, "-m", "desk_pemilu.cli", "access", "list"], capture_output=True,
                                 text=True, timeout=60, env=env | {"DESK_STATE_DIR": str(tmp_path)})
        assert listing.returncode == 0 and "kesbangpol" in listing.stdout, listing.stderr
        assert "Violation" not in (tmp_path / "nats-server.log").read_text()  # the services need nothing more
    finally:
        os.killpg(launcher.pid, signal.SIGINT)
        code = launcher.wait(30)
        print(log.read_text()[-4000:])
    assert code == 0
    assert "[desk] stopped" in log.read_text()
    leftovers = subprocess.run(["pgrep", "-g", str(launcher.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == []


def demo_auth(banner: str) -> dict[str, str]:
    """The first demo agency key the launcher printed, as a request header."""
    found = re.search(r"^demo agency key \(([a-z0-9-]+)\): (dpk_\S+)$", banner, re.M)
    assert found, banner[-3000:]
    return bearer(found[2])


def demo_person(banner: str, role: str = "leader") -> dict[str, str]:
    """The demo person token of `role` the launcher printed, as a request header."""
    found = re.search(rf"^demo person token \({role}, login [a-z.-]+\): (dps_\S+)$", banner, re.M)
    assert found, banner[-3000:]
    return bearer(found[1])


def launch(tmp_path: Path, **extra_env: str) -> tuple[subprocess.Popen[bytes], Path, dict[str, str]]:
    ports = {name: str(free_port()) for name in ("INTAKE", "PROJECTION", "INBOX", "EMBEDDED_NATS", "ACCESS", "TRIAGE")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env |= {f"DESK_{name}_PORT": port for name, port in ports.items()} | {"PYTHONUNBUFFERED": "1"} | extra_env
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "desk_pemilu.cli", "up", "--state-dir", str(tmp_path)],
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: "Desk Pemilu is running" in log.read_text(), 90, what="the launcher's banner")
    return launcher, log, ports


def ctrl_c(launcher: subprocess.Popen[bytes]) -> int:
    os.killpg(launcher.pid, signal.SIGINT)  # as a terminal does: the whole foreground group
    return launcher.wait(30)


def test_ctrl_c_with_alerts_in_flight_records_no_failed_alert(tmp_path: Path) -> None:
    launcher, log, ports = launch(tmp_path)
    intake = f"http://127.0.0.1:{ports['INTAKE']}"
    try:
        with httpx.Client(headers=demo_auth(log.read_text())) as client:
            for n in range(40):
                answer = client.post(f"{intake}/v1/reports", json={
                    "kecamatan": "11.13.01", "text": f"Massa membawa parang menyerang TPS {n:02d}, dua petugas luka."})
                assert answer.status_code == 202
    finally:
        code = ctrl_c(launcher)
    assert code == 0, log.read_text()[-3000:]
    server = EmbeddedNats(tmp_path / "nats", free_port())  # the stopped system's log, read afterwards
    server.start()
    try:
        kinds = Counter(json.loads(data)["type"] for _, _, data in read_stream(BusSettings(nats_url=server.url)))
    finally:
        server.stop()
    assert kinds["ReportSubmitted"] == 40
    assert kinds["AlertFailed"] == 0, kinds  # the inbox outlived notify: nothing failed because of the stop
    assert kinds["AlertDelivered"] <= kinds["AlertRequested"], kinds
    assert log.read_text().count("ALERT for ") >= kinds["AlertDelivered"]  # each recorded delivery was received


def test_a_service_that_keeps_crashing_is_restarted_later_and_later_without_stopping_the_rest(
        tmp_path: Path) -> None:
    launcher, log, ports = launch(tmp_path, DESK_TRIAGE_RULES_FILE=str(tmp_path / "missing-rules.toml"))
    try:
        wait_for(lambda: "(it keeps exiting)" in log.read_text(), 60, what="the launcher backing off")
        answer = httpx.post(f"http://127.0.0.1:{ports['INTAKE']}/v1/reports", headers=demo_auth(log.read_text()),
                            json={"kecamatan": "11.13.01", "text": "Surat suara di TPS 4 kurang."})
        assert answer.status_code == 202  # intake and NATS keep running while triage cannot start
        assert launcher.poll() is None
    finally:
        code = ctrl_c(launcher)
    assert code == 0
    assert "[desk] stopped" in log.read_text()
