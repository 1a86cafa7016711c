"""`desk-projection check` and `rebuild --swap` against a live projection process that keeps
projecting and serving while events keep arriving (SQLite and PostgreSQL).

Some live rows are corrupted first. `check` must name exactly those rows (a snapshot at one
position, not a race with the live projector); the swap must repair them while the API answers
200 throughout and never shows fewer incidents than before; alert outcomes for the corrupted
incidents published after the swap must count from the repaired rows; and in the end the read
models equal a rebuild into an empty database, with no event lost or doubled."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_projection import queries
from desk_projection.__main__ import main
from desk_projection.tables import incidents, reports
from desk_shared.contracts.events import AlertDelivered, AlertFailed, Event
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples
from desk_testing.agencies import bearer
from desk_testing.fixtures import assert_projected_exactly, assert_rebuild_matches, bus_env, wait_for
from desk_testing.people import person_token

pytestmark = pytest.mark.system

REPORTS = 400
HELD_BACK = (2, 3, 6, 7)
"""Escalated reports whose alert outcomes are published only after the swap."""
WAVE = 2
WAVE_SECONDS = 0.03
MAX_WAVES = 300


def live_position(engine: Engine) -> int:
    try:
        with engine.connect() as conn:
            return queries.position(conn)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # not migrated yet
        return 0


def publish(bus: BusSettings, events: list[Event]) -> int:
    return asyncio.run(samples.publish_log(bus, events))


def run_command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command in this process (a process of its own would spend seconds importing): exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class Waves(threading.Thread):
    """New reports' stories, a wave at a time, until told to stop."""

    def __init__(self, bus: BusSettings) -> None:
        super().__init__(daemon=True)
        self.bus = bus
        self.events: list[Event] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for wave in range(MAX_WAVES):
                if self.stopping.is_set():
                    return
                first = REPORTS + wave * WAVE
                events = [e for n in range(first, first + WAVE) for e in samples.incident_story(n)]
                publish(self.bus, events)
                self.events += events
                time.sleep(WAVE_SECONDS)
        except BaseException as exc:
            self.error = exc


class Poller(threading.Thread):
    """The board's reader: asks the API for the incidents all along."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/v1/incidents"
        self.headers = bearer(token)
        self.answers: list[tuple[float, int, int | None]] = []  # when, status, total
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stopping.is_set():
                try:
                    answer = client.get(self.url, params={"limit": 1}, headers=self.headers)
                    total = answer.json().get("total") if answer.status_code == 200 else None
                    self.answers.append((time.monotonic(), answer.status_code, total))
                except httpx.HTTPError:
                    self.answers.append((time.monotonic(), 0, None))
                time.sleep(0.02)


def test_check_and_swap_while_the_live_projection_serves(bus: BusSettings, database_url: str,
                                                        second_database_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    stories = {n: samples.incident_story(n) for n in range(REPORTS)}
    held_back = [e for n in HELD_BACK for e in stories[n] if isinstance(e, AlertDelivered | AlertFailed)]
    assert len(held_back) == 2 * len(HELD_BACK)
    base = [e for story in stories.values() for e in story if e not in held_back]
    base_last = publish(bus, base)
    token = person_token(bus, "swap-leader")
    port = free_port()
    env = bus_env(bus) | {"DESK_LOG_LEVEL": "INFO", "DESK_PROJECTION_DATABASE_URL": database_url,
                          "DESK_PROJECTION_PORT": str(port), "DESK_PROJECTION_BATCH_SIZE": "50"}
    for name, value in env.items():  # for the commands run here
        monkeypatch.setenv(name, value)
    live = sa.create_engine(database_url)
    projection = ServiceProcess("projection", service_command("desk_projection"), env, tmp_path / "live.log").start()
    waves, poller = Waves(bus), Poller(port, token)
    try:
        wait_for(lambda: live_position(live) >= base_last or not projection.alive, 30, 0.05,
                 "the live projection to catch up")
        assert projection.alive, projection.output()[-5000:]
        wait_for(lambda: httpx.get(poller.url, headers=poller.headers, timeout=2).status_code == 200, 30, 0.1,
                 "the API to know the person")
        incident_ids = [stories[n][1].payload.incident_id for n in HELD_BACK]  # type: ignore[attr-defined]
        spoiled_report = stories[10][0].payload.report_id  # type: ignore[attr-defined]
        with live.begin() as conn:  # rows gone wrong (the report's text through its full-text trigger too)
            conn.execute(incidents.update().where(incidents.c.incident_id.in_(incident_ids))
                         .values(severity="rendah", alerts_delivered=50))
            conn.execute(reports.update().where(reports.c.report_id == spoiled_report).values(text="rusak"))
        poller.start()
        waves.start()

        code, out, err = run_command(capsys, "check", "--no-progress", "--show", "50")
        assert code == 1, out + err
        found = re.findall(r"^  (incidents|reports) (\S+): (\w+): live", out, re.MULTILINE)
        assert sorted(found) == sorted([("incidents", str(i), column) for i in incident_ids
                                        for column in ("severity", "alerts_delivered")]
                                       + [("reports", str(spoiled_report), "text")]), out
        assert "DIFFERENT: 5 row(s)" in out, out

        before = live_position(live)
        swap_started = time.monotonic()
        code, out, err = run_command(capsys, "rebuild", "--swap")
        swap_ended = time.monotonic()
        after = live_position(live)
        assert code == 0, out + err
        swapped_at = int(re.search(r"at position (\d+)", out).group(1))  # type: ignore[union-attr]
        assert before < swapped_at <= after, (before, swapped_at, after, out)  # events kept arriving
        assert "rebuild: 100%" in err, err  # the progress display

        code, out, err = run_command(capsys, "check", "--no-progress")  # events still arriving
        assert code == 0 and "IDENTICAL" in out, out + err

        waves.stopping.set()
        waves.join(30)
        assert waves.error is None and waves.events, waves.error
        last = publish(bus, held_back)
        wait_for(lambda: live_position(live) == last, 30, 0.05, "the live projection to apply everything")
        poller.stopping.set()
        poller.join(10)
        assert projection.alive, projection.output()[-5000:]
        assert projection.stop(timeout=10) == 0, projection.output()[-5000:]
    finally:
        waves.stopping.set()
        poller.stopping.set()
        projection.kill()

    answers = poller.answers
    during = [a for a in answers if swap_started <= a[0] <= swap_ended]
    assert len(during) >= 5, f"only {len(during)} requests during the swap"
    assert [a for a in answers if a[1] != 200] == [], "the API did not answer 200 throughout"
    totals = [a[2] for a in answers]
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(totals)), (
        "the board saw fewer incidents at some moment: an empty or half swap")
    output = projection.output()
    assert "Traceback" not in output and "projection interrupted" not in output, output[-5000:]

    events = base + waves.events + held_back
    reports_published = REPORTS + sum(e.event_type == "ReportSubmitted" for e in waves.events)
    assert_projected_exactly(live, Counter(e.event_type for e in events), reports_published)
    assert_rebuild_matches(live, second_database_url, env, len(events))  # the held-back outcomes counted from 0
    with live.connect() as conn:
        if sa.inspect(conn).has_table("reports_fts"):  # SQLite's full-text index (kept by triggers) followed
            conn.exec_driver_sql("INSERT INTO reports_fts(reports_fts, rank) VALUES ('integrity-check', 1)")
        if conn.dialect.name == "postgresql":
            assert conn.execute(sa.text("SELECT count(*) FROM information_schema.schemata "
                                        "WHERE schema_name LIKE 'desk_fresh_%'")).scalar() == 0
    assert list(tmp_path.glob("*.fresh-*")) == []
    live.dispose()
