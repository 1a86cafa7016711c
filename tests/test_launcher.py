"""`./desk up` (the launcher): embedded NATS, four service processes, alerts, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from desk_pemilu.embedded_nats import free_port
from desk_testing.fixtures import wait_for

pytestmark = pytest.mark.system


def test_up_runs_the_whole_system_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    ports = {name: str(free_port()) for name in ("INTAKE", "PROJECTION", "INBOX", "EMBEDDED_NATS")}
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
        answer = httpx.post(f"{intake}/v1/reports", json={
            "kecamatan": "17.04.02", "text": "Dua kelompok pendukung bentrok, satu orang luka bacok di dekat TPS 7."})
        assert answer.status_code == 202, answer.text
        report_id = answer.json()["report_id"]

        def escalated() -> dict | None:
            items = httpx.get(f"{projection}/v1/incidents").json()["items"]
            return next((i for i in items if i["report_id"] == report_id and i["alerts_delivered"] == 2), None)

        wait_for(escalated, 30, what="the incident escalated with both alerts delivered")
        assert "ALERT for polsek:17.04.02" in log.read_text()
        assert (tmp_path / "nats" / "jetstream").is_dir() and (tmp_path / "projection.db").exists()
    finally:
        os.killpg(launcher.pid, signal.SIGINT)
        code = launcher.wait(30)
        print(log.read_text()[-4000:])
    assert code == 0
    assert "[desk] stopped" in log.read_text()
    leftovers = subprocess.run(["pgrep", "-g", str(launcher.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == []
