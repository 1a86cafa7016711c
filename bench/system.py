"""Benchmark: the whole system as `./desk up` runs it, under a steady load of reports.

    .venv/bin/python -m bench.system [--rate 1000] [--seconds 60] [--latency-rate 50] [--latency-seconds 30]

An embedded nats-server (fsync on every write), the four services as their own processes with
SQLite for the projection, and a webhook receiver process (bench/receiver.py) as every
liaison's webhook. Reports are corpus texts, a quarter of them ones triage escalates (chosen by
classifying them here first; the fraction escalated is counted afterwards from the log).
- Baseline: 32 concurrent awaited `js.publish` of a typical report on a server like this one
  (its own, so its events do not reach the system): what the log alone takes.
- Load: `--rate` reports/s over HTTP for `--seconds` from wrk, paced by a schedule (each
  request has its due time, so slow answers do not lower the offered rate). Then the time until
  the system has applied everything: no consumer with anything pending or unacknowledged, the
  projection's /health lag 0, and every alert the log requests received by the webhook.
- Latency: `--latency-rate` reports/s from a Python client for `--latency-seconds`; for each
  escalated report, the time from its 202 (accepted) to its first alert's arrival."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from nats.js import JetStreamContext

from bench.common import UNTHROTTLED, corpus_texts, machine, verdict
from bench.intake import WRK_COUNTING, Figures, percentile, raw_baseline, run_wrk, tree_cpu_seconds, wait_serving
from bench.notify import Receiver
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.processes import service_processes, stop_all
from desk_shared.contracts.events import AlertRequested, IncidentEscalated, ReportSubmitted
from desk_shared.runtime.bus import connect
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.agencies import agency_key
from desk_triage.bootstrap import classifier_model
from desk_triage.classifier import classify, default_rules
from desk_triage.settings import TriageSettings

GOAL_RATE = 1000.0
GOAL_DRAIN_SECONDS = 5.0
GOAL_P99_SECONDS = 1.0
ESCALATING_SHARE = 4  # one report in four escalates


# ----------------------------------------------------------------------------- the reports
def report_bodies(seed: int = 14) -> tuple[list[str], list[str]]:
    """JSON bodies of corpus reports that triage escalates and of ones it does not, each with
    `@KEY@` where the load generator puts the report's own key (every report is distinct)."""
    settings = TriageSettings()
    rules, model = default_rules(), classifier_model(settings)
    escalating, calm = [], []
    for row in corpus_texts():
        text = f"{row['text']} (ref @KEY@)"
        body = json.dumps({"kecamatan": row["kecamatan"], "village": row.get("village"), "text": text})
        severity = classify(text.replace("@KEY@", "x-1-1"), None, rules, model).severity
        (escalating if severity.escalates else calm).append(body)
    random.Random(seed).shuffle(escalating)
    random.Random(seed).shuffle(calm)
    return escalating, calm


def body_for(n: int, key: str, escalating: list[str], calm: list[str]) -> str:
    pool = escalating if n % ESCALATING_SHARE == 0 else calm
    return pool[n // ESCALATING_SHARE % len(pool)].replace("@KEY@", key)


# ----------------------------------------------------------------------------- load: wrk on a schedule
WRK_SCHEDULE = """
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_timespec; int clock_gettime(int, bench_timespec *); ]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local escalating = {ESCALATING}
local calm = {CALM}
function request()
  local n = sent
  sent = sent + 1
  local key = "RUN-" .. id .. "-" .. n
  local pool = calm
  if n % SHARE == 0 then pool = escalating end
  local body = string.gsub(pool[math.floor(n / SHARE) % #pool + 1], "@KEY@", key)
  return wrk.format("POST", "/v1/reports",
                    with_headers({["Content-Type"] = "application/json", ["Idempotency-Key"] = key}), body)
end
function delay()
  if start == nil then start = now_ms() end
  slot = slot + 1
  local wait = start + slot * INTERVAL - now_ms()
  if wait < 0 then return 0 end
  return math.floor(wait)
end
"""
"""Each request has its due time (a schedule, one wrk thread): slow answers do not lower the offered rate."""


def lua_strings(bodies: list[str]) -> str:
    """Lua string literals: the bodies are ASCII JSON, and a JSON string of them reads the same in Lua."""
    return ", ".join(json.dumps(b) for b in bodies)


def load(name: str, url: str, home: Path, run: str, rate: float, seconds: float, connections: int,
         escalating: list[str], calm: list[str], api_key: str) -> Figures:
    script = (WRK_COUNTING + WRK_SCHEDULE.replace("ESCALATING", lua_strings(escalating[:200]))
              .replace("CALM", lua_strings(calm[:600])).replace("RUN", run).replace("SHARE", str(ESCALATING_SHARE))
              .replace("INTERVAL", f"{1000.0 / rate:.6f}"))
    path = home / f"{name}.lua"
    path.write_text(script)
    return run_wrk(name, url, path, seconds, threads=1, key=api_key, connections=connections)


# ----------------------------------------------------------------------------- drained?
@dataclass
class Backlog:
    pending: int  # messages not yet delivered or not yet acknowledged, over every durable consumer
    lag: int | None  # the projection's own account
    alerts_requested: int
    alerts_received: int
    escalated: int
    reports: int
    dead_letters: int
    events: int  # in the log, all types

    @property
    def drained(self) -> bool:
        return self.pending == 0 and self.lag == 0 and self.alerts_received >= self.alerts_requested


async def count(js: JetStreamContext, stream: str, subject: str) -> int:
    info = await js.stream_info(stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def backlog(js: JetStreamContext, bus: BusSettings, projection: str, receiver: Receiver) -> Backlog:
    consumers = await js.consumers_info(bus.stream_name)
    async with httpx.AsyncClient(timeout=5) as client:
        lag = (await client.get(projection + "/health")).json().get("lag")
    dead = (await js.stream_info(bus.dead_letter_stream_name)).state.messages
    events = (await js.stream_info(bus.stream_name)).state.messages
    return Backlog(sum(c.num_pending + c.num_ack_pending for c in consumers), lag,
                   await count(js, bus.stream_name, AlertRequested.subject), len(await receiver.arrivals()),
                   await count(js, bus.stream_name, IncidentEscalated.subject_filter),
                   await count(js, bus.stream_name, ReportSubmitted.subject), dead, events)


async def drain_seconds(bus: BusSettings, projection: str, receiver: Receiver, within: float) -> tuple[float | None,
                                                                                                      Backlog]:
    """Seconds until everything is applied (None if not within `within`), and the last look."""
    nc = await connect(bus, "bench-watch")
    js = nc.jetstream()
    began = time.perf_counter()
    try:
        while True:
            seen = await backlog(js, bus, projection, receiver)
            if seen.drained:
                return time.perf_counter() - began, seen
            if time.perf_counter() - began > within:
                return None, seen
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


# ----------------------------------------------------------------------------- latency: a Python client
async def latency_phase(url: str, bus: BusSettings, receiver: Receiver, run: str, rate: float, seconds: float,
                        escalating: list[str], calm: list[str], api_key: str) -> tuple[list[float], int, int]:
    """Latencies (s) from accepted to first alert of every report sent that triage escalated
    (as the log says; inf where no alert came); how many were sent and refused."""
    accepted_at: dict[str, float] = {}
    refused = 0
    auth = {"Authorization": f"Bearer {api_key}"}

    async def send(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal refused
        key = f"{run}-{n}"
        async with session.post(url + "/v1/reports", data=body_for(n, key, escalating, calm),
                                headers={"Content-Type": "application/json", "Idempotency-Key": key} | auth) as answer:
            body = await answer.json()
            if answer.status == 202:
                accepted_at[body["report_id"]] = time.time()
            else:
                refused += 1

    rng = random.Random(50)
    async with aiohttp.ClientSession() as session:
        tasks, n, due = [], 0, time.perf_counter()
        deadline = due + seconds
        while due < deadline:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(send(session, n)))
            n += 1
            due += rng.expovariate(rate)
        await asyncio.gather(*tasks)
    await asyncio.sleep(2)  # the last reports' triage
    escalated = await escalated_reports(bus) & accepted_at.keys()
    wait_until = time.time() + 10
    while True:
        arrived = await receiver_reports(receiver)
        if escalated <= arrived.keys() or time.time() > wait_until:
            break
        await asyncio.sleep(0.2)
    return [arrived[r] - accepted_at[r] if r in arrived else float("inf") for r in escalated], n, refused


async def escalated_reports(bus: BusSettings) -> set[str]:
    """The report of every IncidentEscalated in the log."""
    nc = await connect(bus, "bench-read")
    js = nc.jetstream()
    total = await count(js, bus.stream_name, IncidentEscalated.subject_filter)
    sub = await js.subscribe(IncidentEscalated.subject_filter, stream=bus.stream_name, ordered_consumer=True)
    found = set()
    for _ in range(total):
        found.add(json.loads((await sub.next_msg(timeout=10)).data)["payload"]["report_id"])
    await nc.close()
    return found


async def receiver_reports(receiver: Receiver) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(receiver.url("/reports"))).json()


# ----------------------------------------------------------------------------- the run
def baseline_rate(home: Path, seconds: float, fsync: bool) -> float:
    server = EmbeddedNats(home / "baseline-nats", free_port(), sync_always=fsync)
    server.start(log_file=home / "baseline-nats.log")
    try:
        asyncio.run(create_streams(BusSettings(nats_url=server.url)))
        return asyncio.run(raw_baseline(server.url, seconds)).rate
    finally:
        server.stop()


async def create_streams(bus: BusSettings) -> None:
    nc = await connect(bus, "bench-setup")
    await ensure_streams(nc.jetstream(), bus)
    await nc.close()


def cpu_seconds(processes: dict[str, int]) -> dict[str, float]:
    return {name: tree_cpu_seconds(pid) for name, pid in processes.items()}


@dataclass
class System:
    """The four services, their nats-server and the webhook receiver, as `./desk up` runs them."""

    home: Path
    fsync: bool

    def __enter__(self) -> System:
        self.server = EmbeddedNats(self.home / "nats", free_port(), sync_always=self.fsync)
        self.server.start(log_file=self.home / "nats.log")
        self.receiver = Receiver(self.home)
        contacts = self.home / "contacts.toml"
        contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "{self.receiver.url("/alerts")}"\n')
        intake_port, projection_port = free_port(), free_port()
        env = {"DESK_NATS_URL": self.server.url, "DESK_INTAKE_PORT": str(intake_port), "DESK_LOG_LEVEL": "WARNING",
               "DESK_INTAKE_AGENCY_RATE": UNTHROTTLED,
               "DESK_PROJECTION_PORT": str(projection_port),
               "DESK_ACCESS_PORT": str(free_port()), "DESK_TRIAGE_PORT": str(free_port()),
               "DESK_NOTIFY_PORT": str(free_port()),
               "DESK_PROJECTION_DATABASE_URL": f"sqlite:///{self.home / 'projection.db'}",
               "DESK_NOTIFY_CONTACTS_FILE": str(contacts)}
        self.bus = BusSettings(nats_url=self.server.url)
        self.key = agency_key(self.bus)  # an agency that may report from anywhere
        self.processes = [p.start() for p in service_processes(env, self.home)]
        self.intake_url, self.projection_url = f"http://127.0.0.1:{intake_port}", f"http://127.0.0.1:{projection_port}"
        for name, url in (("intake", self.intake_url), ("projection", self.projection_url)):
            wait_serving(url, next(p for p in self.processes if p.name == name))
        return self

    def __exit__(self, *exc: object) -> None:
        stop_all(self.processes)
        self.receiver.process.stop(5)
        self.server.stop()

    def process_ids(self) -> dict[str, int]:
        found = {p.name: p.process.pid for p in self.processes if p.process}
        assert self.server.process and self.receiver.process.process
        return found | {"nats-server": self.server.process.pid, "receiver": self.receiver.process.process.pid}

    def drain(self, within: float) -> tuple[float | None, Backlog]:
        return asyncio.run(drain_seconds(self.bus, self.projection_url, self.receiver, within))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=GOAL_RATE, help="reports/s under load (default 1000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load (default 60)")
    parser.add_argument("--connections", type=int, default=64, help="wrk's connections (default 64)")
    parser.add_argument("--latency-rate", type=float, default=50.0, help="reports/s for the latency (default 50)")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="length of that phase (default 30)")
    parser.add_argument("--no-fsync", action="store_true",
                        help="nats-server without fsync on every write (to see the services' own capacity)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    fsync = not args.no_fsync
    print(f"machine: {machine()}; nats-server {'with fsync on every write' if fsync else 'WITHOUT fsync'}", flush=True)
    escalating, calm = report_bodies()
    print(f"corpus bodies: {len(escalating)} escalating, {len(calm)} not; one report in {ESCALATING_SHARE} "
          f"escalating", flush=True)

    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        baseline = baseline_rate(Path(tmp), 8.0, fsync)
        print(f"baseline: 32 concurrent js.publish on a server like the system's: {baseline:,.0f}/s", flush=True)
        with System(Path(tmp), fsync) as system:
            run = uuid.uuid4().hex[:8]
            warm = load("warm-up", system.intake_url, system.home, f"{run}w", 200, 3, 16, escalating, calm, system.key)
            system.drain(60)
            print(f"warm-up: {warm.accepted} reports at 200/s, drained", flush=True)

            pids = system.process_ids()
            cpu_before, wall_before = cpu_seconds(pids), time.perf_counter()
            loaded = load("load", system.intake_url, system.home, f"{run}l", args.rate, args.seconds,
                          args.connections, escalating, calm, system.key)
            drained, seen = system.drain(120)
            wall = time.perf_counter() - wall_before
            cores = {k: (v - cpu_before[k]) / wall for k, v in cpu_seconds(pids).items()}
            appends = seen.events / max(seen.reports, 1)
            took = f"{drained:.1f} s" if drained is not None else "NOT within 120 s"
            print(f"{loaded.line(baseline)}   (offered {args.rate:,.0f}/s for {args.seconds:.0f} s)\n"
                  f"  everything applied {took} after the load stopped; last look: {seen}\n"
                  f"  cores used (load and drain): {' '.join(f'{k} {v:.2f}' for k, v in cores.items())}\n"
                  f"  escalated {seen.escalated / max(seen.reports, 1):.1%} of {seen.reports:,} reports; "
                  f"{appends:.2f} events appended per report: the baseline allows at most "
                  f"{baseline / appends:,.0f} reports/s", flush=True)

            latencies, sent, refused = asyncio.run(latency_phase(
                system.intake_url, system.bus, system.receiver, f"{run}q", args.latency_rate, args.latency_seconds,
                escalating, calm, system.key))
            lost = sum(1 for x in latencies if x == float("inf"))
            ms = [x * 1000 for x in latencies]
            p50, p99 = percentile(ms, 0.5), percentile(ms, 0.99)
            print(f"latency: {sent} reports at ~{args.latency_rate:.0f}/s ({refused} refused), {len(latencies)} "
                  f"escalated; accepted -> first alert p50 {p50:.0f} ms p99 {p99:.0f} ms, max "
                  f"{max(ms, default=float('nan')):.0f} ms, {lost} without an alert", flush=True)

    rate = loaded.rate
    kept_up = rate >= 0.98 * args.rate and loaded.other == 0 and args.rate >= GOAL_RATE and args.seconds >= 60
    unlike = "" if fsync else " (WITHOUT fsync: not the configuration of ./desk up)"
    print(f"\ngoals{unlike}:\n  keeps up with {GOAL_RATE:,.0f} reports/s for 60 s: {rate:,.0f}/s accepted over "
          f"{args.seconds:.0f} s -> {verdict(kept_up)}\n"
          f"  everything applied within {GOAL_DRAIN_SECONDS:.0f} s after: {took} -> "
          f"{verdict(drained is not None and drained <= GOAL_DRAIN_SECONDS)}\n"
          f"  p99 accepted -> alert < {GOAL_P99_SECONDS * 1000:.0f} ms at {args.latency_rate:.0f}/s: {p99:.0f} ms -> "
          f"{verdict(p99 < GOAL_P99_SECONDS * 1000 and lost == 0)}")


if __name__ == "__main__":
    main()
