"""Two projection replicas on ONE database: each reads the whole log, the guarded checkpoint
lets exactly one of them apply each batch, and the loser of a race carries on instead of
crashing. The result must equal a rebuild from sequence 1, row for row.

Both replicas start before anything is published and the first burst reaches both idle
readers at once, so their batches collide; small batches (50) keep them colliding while
more events arrive during the run. Replicas that start at the same moment on a fresh database
also migrate it at the same moment: both must come up."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_projection import queries
from desk_projection.tables import timeline
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples
from desk_testing.fixtures import assert_projected_exactly, assert_rebuild_matches, bus_env, row_count, wait_for

pytestmark = pytest.mark.system

REPORTS_AT_START = 600  # published as one burst while both replicas wait at position 0
REPORTS_DURING_RUN = 400  # published in small waves while they work
WAVES = 8
BATCH_SIZE = 50
CONFLICT = "position conflict"
STARTERS = 4  # processes starting up together on one fresh database

# A replica's start-up (schema migration, checkpoint row) on a signal, so several run it at the same instant.
START_ON_SIGNAL = """
import sys
from desk_projection.database import make_engine, migrate
from desk_projection.projector import Projector

engine = make_engine(sys.argv[1], writer=True)
print("ready", flush=True)
sys.stdin.readline()
migrate(engine)
print("position", Projector(engine).position(), flush=True)
"""


def replica_env(bus: BusSettings, database_url: str, port: int) -> dict[str, str]:
    return bus_env(bus) | {"DESK_LOG_LEVEL": "INFO", "DESK_PROJECTION_DATABASE_URL": database_url,
                           "DESK_PROJECTION_PORT": str(port), "DESK_PROJECTION_BATCH_SIZE": str(BATCH_SIZE)}


def health(port: int) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def position(engine: Engine) -> int:
    with engine.connect() as conn:
        return queries.position(conn)


def stream_positions(output: str) -> list[int]:
    """The sequences a replica (re)started reading from: one line per start and per conflict."""
    return [int(n) for n in re.findall(r"reading \S+ from sequence (\d+)", output)]


def ready(replica: ServiceProcess, port: int) -> bool:
    """Migrated, connected to NATS, serving /health and reading the log."""
    answer = health(port)
    return answer is not None and answer["status"] == "ok" and bool(stream_positions(replica.output()))


def describe(replicas: list[ServiceProcess]) -> str:
    return "\n".join(f"--- {r.name} (alive: {r.alive}) ---\n{r.output()[-3000:]}" for r in replicas)


def test_two_replicas_share_one_database(bus: BusSettings, database_url: str, second_database_url: str,
                                         tmp_path: Path) -> None:
    ids = range(REPORTS_AT_START + REPORTS_DURING_RUN)
    stories = [samples.incident_story(n) for n in ids]
    burst = [e for story in stories[:REPORTS_AT_START] for e in story]
    later = stories[REPORTS_AT_START:]
    events = burst + [e for story in later for e in story]
    published = Counter(e.event_type for e in events)
    ports = [free_port(), free_port()]
    assert ports[0] != ports[1]

    replicas = [ServiceProcess(f"replica-{i}", service_command("desk_projection"),
                               replica_env(bus, database_url, port), tmp_path / f"replica-{i}.log")
                for i, port in enumerate(ports)]
    live = sa.create_engine(database_url)
    try:
        for replica in replicas:  # back to back: both migrate and create the checkpoint at the same moment
            replica.start()
        # Both are connected, migrated and reading from sequence 1 of an empty log before the burst.
        wait_for(lambda: all(ready(r, port) for r, port in zip(replicas, ports, strict=True)) or
                 not all(r.alive for r in replicas), 30, 0.1, "both replicas to be ready")
        assert all(r.alive for r in replicas), describe(replicas)
        assert all(stream_positions(r.output()) == [1] for r in replicas), describe(replicas)

        last = asyncio.run(samples.publish_log(bus, burst))
        per_wave = -(-len(later) // WAVES)
        for wave in range(0, len(later), per_wave):
            time.sleep(0.3)
            last = asyncio.run(samples.publish_log(bus, [e for story in later[wave:wave + per_wave] for e in story]))
        assert last == len(events)

        wait_for(lambda: position(live) == last or not all(r.alive for r in replicas), 30, 0.1,
                 "the checkpoint to reach the end of the log")
        assert all(r.alive for r in replicas), f"a replica died\n{describe(replicas)}"
        assert position(live) == last
        for port in ports:
            wait_for(lambda port=port: (h := health(port)) is not None and h["lag"] == 0, 10, 0.1,
                     f"/health on port {port} to report lag 0")
            answer = health(port)
            assert answer is not None
            assert (answer["status"], answer["position"], answer["stream_last_sequence"], answer["lag"]) == (
                "ok", last, last, 0)

        assert all(r.alive for r in replicas), describe(replicas)
        for replica in replicas:
            replica.terminate()
        started = time.monotonic()
        codes = [r.stop(timeout=10) for r in replicas]
        assert time.monotonic() - started < 10
        assert all(code in (0, -15) for code in codes), f"exit codes {codes}\n{describe(replicas)}"
    finally:
        for replica in replicas:
            replica.kill()

    outputs = [r.output() for r in replicas]
    conflicts = [out.count(CONFLICT) for out in outputs]
    print(f"checkpoint conflicts per replica: {conflicts}; restarts: {[len(stream_positions(o)) for o in outputs]}")
    assert sum(conflicts) >= 1, f"the replicas never raced: the test proves nothing\n{describe(replicas)}"
    for out in outputs:
        # A lost race is a conflict and nothing else: no constraint violation, no retry pause, no traceback.
        assert "projection interrupted" not in out and "Traceback" not in out, out[-5000:]
        # Each conflict makes the loser resume from the stored position: one more "reading ... from".
        assert len(stream_positions(out)) == 1 + out.count(CONFLICT), out[-5000:]

    env = replica_env(bus, database_url, free_port())
    assert_rebuild_matches(live, second_database_url, env, len(events))
    assert_projected_exactly(live, published, len(ids))
    assert row_count(live, timeline) == len(events) == last
    live.dispose()


def test_replicas_starting_together_both_migrate_a_fresh_database(database_url: str) -> None:
    """What the replicas above do at start, made simultaneous. Before database.migrate took a lock,
    PostgreSQL migrations all saw no schema and all ran CREATE TABLE (the later ones died on a
    duplicate key in pg_type: 10 rounds of 10); on SQLite a connection switching the fresh file
    to WAL got "database is locked" without any busy wait (4 rounds of 30)."""
    starters = [subprocess.Popen([sys.executable, "-c", START_ON_SIGNAL, database_url], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(STARTERS)]
    try:
        for starter in starters:
            assert starter.stdout is not None and starter.stdin is not None
            line = starter.stdout.readline()
            assert line == "ready\n", line + starter.stdout.read()
        for starter in starters:  # all imported, engines built: now start up at once
            assert starter.stdin is not None
            starter.stdin.write("go\n")
            starter.stdin.flush()
        outcomes = [starter.communicate(timeout=30) for starter in starters]
    finally:
        for starter in starters:
            starter.kill()
    for starter, (output, _) in zip(starters, outcomes, strict=True):
        assert starter.returncode == 0, output
        assert output.strip().endswith("position 0"), output
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM checkpoints")).scalar_one() == 1
    finally:
        engine.dispose()
