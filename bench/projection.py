"""Benchmark: the projection through a backlog, beside a raw replay of the same log in the same run.

    .venv/bin/python bench/projection.py [--events 100000] [--rebuild-events 1000000]
                                         [--postgres URL | --postgres none] [--rounds 3]

Starts its own embedded nats-server (without fsync on every write: reading is what is measured)
with its store in `.desk/bench/projection-nats/`, and publishes a synthetic log there
(`desk_testing.samples`, with notify's AlertRequested events), generated in worker processes and
published concurrently; a later run with the same size reuses it. Then, per round:
- the baseline: an ordered consumer replaying the first `--events` events with JSON parsing,
  no database (the most any reader of this log can do here);
- the projection (the service's reader and projector, in this process) applying them into an
  empty SQLite file, and into an empty PostgreSQL database when one answers;
and once: `desk-projection rebuild` of the whole log into an empty SQLite file, timed as a
command (start-up included), its progress bar shown as it runs.

The machine is shared: rounds alternate the measurements so noise hits all of them; the median
and the range are printed, with each rate as a ratio of the baseline of the same run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_projection.bootstrap import log_reader, tune_garbage_collector
from desk_projection.database import make_engine, migrate
from desk_projection.projector import Projector
from desk_projection.settings import ProjectionSettings
from desk_shared.contracts import subjects
from desk_shared.runtime.bus import connect
from desk_shared.runtime.log_reader import message_fingerprint
from desk_shared.runtime.positions import fingerprint
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing import samples

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / ".desk" / "bench" / "projection-nats"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOALS = {"SQLite": 10_000, "PostgreSQL": 5_000}
REBUILD_GOAL_SECONDS = 120.0
STORIES_PER_CHUNK = 2_000
IN_FLIGHT = 4_000

Message = tuple[str, bytes, str]


# ----------------------------------------------------------------------------- the log
def story_length(n: int) -> int:
    """Events in story n with alert requests: 2, or 7 when its severity escalates."""
    return 7 if samples.SEVERITIES[n % len(samples.SEVERITIES)].escalates else 2


def stories_for(events: int) -> int:
    total = n = 0
    while total < events:
        total += story_length(n)
        n += 1
    return n


def serialized(span: tuple[int, int]) -> list[Message]:
    """Stories [start, stop) as (subject, data, msg id): run in worker processes."""
    return [(e.subject, e.to_json(), str(e.event_id))
            for n in range(*span) for e in samples.incident_story(n, alert_requests=True)]


def event_at(seq: int) -> Message:
    """The message the log of this benchmark holds at `seq` (1-based)."""
    n, start = 0, 1
    while start + story_length(n) <= seq:
        start += story_length(n)
        n += 1
    return serialized((n, n + 1))[seq - start]


async def ensure_log(bus: BusSettings, events: int, exactly: bool) -> Counter[str]:
    """The stream holds the first `events` events of the benchmark log (published now if not);
    `exactly` that many (the rebuild replays all of it), or at least that many."""
    nc = await connect(bus, "bench-publisher")
    try:
        js = nc.jetstream()
        info = await ensure_streams(js, bus)
        subject, data, _ = event_at(events)
        have = info.state.last_seq
        fits = have == events if exactly else have >= events
        if fits and info.state.messages == have and \
                await fingerprint(js, bus.stream_name, events) == message_fingerprint(subject, data):
            print(f"log: reusing the {have:,} events in {STORE}", flush=True)
        else:
            await js.delete_stream(bus.stream_name)
            await ensure_streams(js, bus)
            await publish(js, events)
        info = await js.stream_info(bus.stream_name, subjects_filter=subjects.ALL_EVENTS)
        return Counter({s.split(".", 2)[-1]: n for s, n in (info.state.subjects or {}).items()})
    finally:
        await nc.close()


async def publish(js: object, events: int) -> None:
    spans = [(s, min(s + STORIES_PER_CHUNK, stories_for(events)))
             for s in range(0, stories_for(events), STORIES_PER_CHUNK)]
    started, sent = time.perf_counter(), 0
    with multiprocessing.get_context("fork").Pool(max(os.cpu_count() or 1, 1)) as pool:
        for chunk in pool.imap(serialized, spans):
            chunk = chunk[:events - sent]
            for start in range(0, len(chunk), IN_FLIGHT):
                acks = [await js.publish_async(s, d, headers={"Nats-Msg-Id": m})  # type: ignore[attr-defined]
                        for s, d, m in chunk[start:start + IN_FLIGHT]]
                await asyncio.gather(*acks)
            sent += len(chunk)
            elapsed = time.perf_counter() - started
            print(f"\rlog: published {sent:,} of {events:,} events ({sent / elapsed:,.0f}/s)", end="", flush=True)
    print(flush=True)


# ----------------------------------------------------------------------------- measurements
async def baseline(bus: BusSettings, events: int) -> float:
    """Events/s of an ordered consumer replaying the first `events` events with JSON parsing."""
    nc = await connect(bus, "bench-baseline")
    try:
        js = nc.jetstream()
        done, seen = asyncio.Event(), [0]

        async def on_message(msg: object) -> None:
            json.loads(msg.data)  # type: ignore[attr-defined]
            seen[0] += 1
            if seen[0] >= events:
                done.set()

        started = time.perf_counter()
        sub = await js.subscribe(subjects.ALL_EVENTS, stream=bus.stream_name, ordered_consumer=True, cb=on_message)
        await done.wait()
        elapsed = time.perf_counter() - started
        await sub.unsubscribe()
        return events / elapsed
    finally:
        await nc.close()


async def project(bus: BusSettings, url: str, events: int, batch_size: int) -> float:
    """Events/s of the projection applying the first `events` events into the empty database `url`."""
    settings = ProjectionSettings(database_url=url, batch_size=batch_size)
    engine = make_engine(url, writer=True, sqlite=settings.sqlite_writing())
    try:
        await asyncio.to_thread(migrate, engine)
        reader = log_reader(Projector(engine), settings, bus, client_name="bench-projection")
        started = time.perf_counter()
        totals = await reader.run(asyncio.Event(), stop_at=events)
        elapsed = time.perf_counter() - started
        assert (totals.position, totals.applied) == (events, events), totals
        return events / elapsed
    finally:
        engine.dispose()


def rebuild(bus: BusSettings, events: int, work: Path) -> tuple[float, str]:
    """Seconds `desk-projection rebuild` took over the whole log (start-up included), and what it said."""
    target = work / f"rebuild-{uuid.uuid4().hex[:8]}.db"
    env = os.environ | {"DESK_NATS_URL": bus.nats_url, "DESK_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "desk_projection", "rebuild", "--database-url", f"sqlite:///{target}"],
                          env=env, stdout=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - started
    for leftover in work.glob(f"{target.name}*"):
        leftover.unlink()
    if done.returncode != 0 or f"applied {events} events" not in done.stdout:
        raise RuntimeError(f"rebuild failed ({done.returncode}): {done.stdout}")
    return elapsed, done.stdout.strip()


@contextlib.contextmanager
def postgres_database(server: str) -> Iterator[str]:
    name = f"desk_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_answers(url: str) -> bool:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


# ----------------------------------------------------------------------------- report
def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                     platform.processor() or "unknown cpu")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, load average {load}"


@dataclass
class Rates:
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, rate: float) -> None:
        self.values.setdefault(name, []).append(rate)

    def line(self, name: str, base: float | None) -> str:
        found = self.values[name]
        median = statistics.median(found)
        spread = f"({min(found):,.0f}–{max(found):,.0f})" if len(found) > 1 else ""
        ratio = f"{median / base:5.3f}x baseline" if base else ""
        return f"{name:<28} {median:>9,.0f} events/s {spread:<18} {ratio}"


async def run(args: argparse.Namespace) -> None:
    logging.getLogger("desk_shared.runtime.bus").setLevel(logging.ERROR)  # "disconnected" at each close
    log_events = max(args.events, args.rebuild_events)
    STORE.mkdir(parents=True, exist_ok=True)
    server = EmbeddedNats(STORE, free_port(), sync_always=False)
    server.start(log_file=STORE / "nats-server.log")
    pg_server = None if args.postgres == "none" else args.postgres or (
        LOCAL_POSTGRES if postgres_answers(LOCAL_POSTGRES) else None)
    try:
        bus = BusSettings(nats_url=server.url)
        print(f"machine: {machine()}", flush=True)
        types = await ensure_log(bus, log_events, exactly=args.rebuild_events > 0)
        total = sum(types.values())
        mix = ", ".join(f"{name} {n / total:.0%}" for name, n in types.most_common())
        print(f"log: {total:,} events ({mix}); the first {args.events:,} are projected", flush=True)
        rates = Rates()
        with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
            work = Path(tmp)
            for round_no in range(1, args.rounds + 1):
                rates.add("baseline (replay + JSON)", await baseline(bus, args.events))
                sqlite_url = f"sqlite:///{work / f'round-{round_no}.db'}"
                rates.add("projection -> SQLite", await project(bus, sqlite_url, args.events, args.batch_size))
                if pg_server:
                    with postgres_database(pg_server) as pg_url:
                        rates.add("projection -> PostgreSQL", await project(bus, pg_url, args.events,
                                                                          args.batch_size))
                print(f"round {round_no}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in rates.values.items()),
                      flush=True)
            rebuilds: list[tuple[float, str]] = []
            for _ in range(args.rebuild_rounds if args.rebuild_events else 0):
                rebuilds.append(await asyncio.to_thread(rebuild, bus, log_events, work))
        base = statistics.median(rates.values["baseline (replay + JSON)"])
        print()
        print(f"machine: {machine()}")
        print(f"projection of {args.events:,} events through a backlog, batch size {args.batch_size}, "
              f"{args.rounds} round(s): median (range)")
        print(rates.line("baseline (replay + JSON)", None))
        for kind, goal in GOALS.items():
            name = f"projection -> {kind}"
            if name not in rates.values:
                print(f"{name:<28} not measured (no PostgreSQL: --postgres URL)")
                continue
            median = statistics.median(rates.values[name])
            print(f"{rates.line(name, base)}   goal >= {goal:,}/s: {'met' if median >= goal else 'NOT met'}")
        for seconds, said in rebuilds:
            rate = log_events / seconds
            print(f"{'rebuild -> SQLite':<28} {rate:>9,.0f} events/s {'':<18} {rate / base:5.3f}x baseline   "
                  f"{log_events:,} events in {seconds:.0f} s (goal < {REBUILD_GOAL_SECONDS:.0f} s: "
                  f"{'met' if seconds < REBUILD_GOAL_SECONDS else 'NOT met'}); it said: {said}")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events projected per round")
    parser.add_argument("--rebuild-events", type=int, default=1_000_000,
                        help="size of the log the rebuild replays (0: no rebuild)")
    parser.add_argument("--postgres", help="server URL where databases may be created ('none': skip; default: "
                                           f"{LOCAL_POSTGRES} if it answers)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild-rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=ProjectionSettings().batch_size)
    args = parser.parse_args()
    tune_garbage_collector(ProjectionSettings())  # as the service's process does
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
