"""Benchmark: intake under load (HTTP through wrk, NATS request-reply), beside a raw baseline in the same run.

    .venv/bin/python bench/intake.py [--seconds 8] [--workers N] [--system]

It starts its own nats-server (JetStream, fsync on every write) and intake as a separate
process, then measures, one after the other:
  (a) baseline: 32 concurrent awaited `js.publish` of a typical ReportSubmitted, same server;
  (b) HTTP POST /v1/reports through wrk at 32 connections (throughput, wrk's percentiles);
  (c) HTTP paced at about 500 reports/s (wrk's `delay()` per connection);
  (d) the NATS door `desk.intake.<agency>.report`, 32 concurrent requesters, then paced.
Paced means each connection (requester) waits a random time before each request, drawn from
an exponential distribution with a mean of 64 ms (32 x 1/64 ms = 500/s, a little less since
each also waits for its answer): independent reporters, as a desk sees them. A fixed 64 ms
(wrk's usual way) keeps all 32 connections in lockstep, so every 64 ms 32 reports arrive at
the same instant; that burst is measured too, for information (`lockstep`).
Every request is a distinct report (its own Idempotency-Key and text). "Accepted" counts
202 answers (HTTP) or `accepted` replies (NATS); the growth of the event stream is printed
as a cross-check. `--system` also runs triage, projection and notify, as `desk up` does.
The machine may be shared: run it several times and compare ratios to the baseline."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import nats

from bench.common import UNTHROTTLED
from desk_intake.settings import IntakeSettings
from desk_intake.submission import SubmitReport, accept
from desk_pemilu.embedded_nats import EmbeddedNats, free_port, nats_server_binary
from desk_pemilu.processes import ServiceProcess, service_processes, stop_all
from desk_shared.contracts import subjects
from desk_shared.contracts.reports import ReportSubmitted
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key

CONCURRENCY = 32
GOAL_RATE = 2_000.0
PACED_RATE = 500.0
GOAL_P99_MS = 50.0
TEXT = ("Massa pendukung paslon 2 mendatangi TPS 03 Desa Penampaan dan mengintimidasi petugas KPPS, "
        "warga diminta tidak datang memilih. Laporan {key}.")
KECAMATAN = "11.13.01"


# ----------------------------------------------------------------------------- results
@dataclass
class Figures:
    """One measurement: accepted answers per second and latency percentiles in milliseconds."""

    name: str
    rate: float
    accepted: int
    other: int
    p50: float | None = None
    p99: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def line(self, baseline: float | None) -> str:
        text = f"{self.name:<34} {self.rate:>8,.0f} accepted/s"
        if self.p50 is not None and self.p99 is not None:
            text += f"   p50 {self.p50:6.1f} ms   p99 {self.p99:6.1f} ms"
        if baseline:
            text += f"   {self.rate / baseline:5.2f} x baseline"
        if self.other:
            text += f"   ({self.other} not accepted)"
        for key, value in self.extra.items():
            text += f"   {key} {value}"
        return text


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# ----------------------------------------------------------------------------- CPU use
_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by `root` and its live descendants (intake's workers)."""
    stats = {int(d.name): s for d in Path("/proc").iterdir() if d.name.isdigit() and (s := _proc_stat(int(d.name)))}
    total, frontier = 0.0, {root}
    while frontier:
        total += sum(stats[pid][1] for pid in frontier if pid in stats)
        frontier = {pid for pid, (parent, _) in stats.items() if parent in frontier}
    return total


class CpuMeter:
    """Cores used during a measurement by intake, nats-server and the load generator (this
    process and wrk): where the two cores went."""

    def __init__(self, intake: int, server: int) -> None:
        self._pids = {"intake": intake, "nats-server": server}
        self._start = self._sample()

    def _sample(self) -> dict[str, float]:
        times = os.times()
        return {**{name: tree_cpu_seconds(pid) for name, pid in self._pids.items()},
                "client": times.user + times.system + times.children_user + times.children_system,
                "wall": time.monotonic()}

    def cores(self) -> str:
        end = self._sample()
        wall = end["wall"] - self._start["wall"]
        used = {k: (end[k] - self._start[k]) / wall for k in end if k != "wall"}
        self._start = end
        return " ".join(f"{k} {v:.2f}" for k, v in used.items())


# ----------------------------------------------------------------------------- machine
def machine() -> str:
    model = platform.processor() or "unknown cpu"
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    server = subprocess.run([str(nats_server_binary()), "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {server} "
            f"(sync_interval: always), load average before the run {load}")


def typical_event() -> bytes:
    """A ReportSubmitted as intake would append it (the baseline publishes these bytes)."""
    report = SubmitReport(kecamatan=KECAMATAN, text=TEXT.format(key="bench-0"))
    return accept(report, channel="http", agency=None, header_key="bench-0", scope=frozenset()).to_json()


# ----------------------------------------------------------------------------- (a) baseline
async def raw_baseline(url: str, seconds: float) -> Figures:
    """32 concurrent awaited `js.publish` of a typical event, each with a fresh Msg-Id."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    data = typical_event()
    subject = ReportSubmitted.subject
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def publisher() -> None:
        while (start := time.perf_counter()) < deadline:
            await js.publish(subject, data, headers={"Nats-Msg-Id": uuid.uuid4().hex})
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(publisher() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - began
    await nc.close()
    ms = [x * 1000 for x in latencies]
    return Figures("(a) baseline js.publish x32", len(latencies) / elapsed, len(latencies), 0,
                   percentile(ms, 0.5), percentile(ms, 0.99))


# ----------------------------------------------------------------------------- (b, c) HTTP via wrk
WRK_COUNTING = """
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  sent, accepted, other, slot = 0, 0, 0, 0
end
function with_headers(headers)  -- and those given with wrk's -H (the agency's key)
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return headers
end
function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    o = o + t:get("other")
  end
  io.write(string.format("ACCEPTED %d OTHER %d\\n", a, o))
end
"""
"""What every wrk script here shares: a thread id, the -H headers, counts of 202 and other answers."""

WRK_SCRIPT = WRK_COUNTING + """
function request()
  sent = sent + 1
  local key = "RUN-" .. id .. "-" .. sent
  local body = '{"kecamatan": "KECAMATAN", "text": "' .. string.gsub('TEXT', "{key}", key) .. '"}'
  return wrk.format("POST", "/v1/reports",
                    with_headers({["Content-Type"] = "application/json", ["Idempotency-Key"] = key}), body)
end
DELAY
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_script(path: Path, run: str, delay_ms: float | None, lockstep: bool = False) -> Path:
    delay = ""
    if delay_ms and lockstep:
        delay = f"function delay() return {delay_ms:.1f} end"
    elif delay_ms:
        delay = f"function delay() return math.floor(-{delay_ms:.1f} * math.log(1 - math.random())) end"
    text = (WRK_SCRIPT.replace("RUN", run).replace("KECAMATAN", KECAMATAN).replace("TEXT", TEXT)
            .replace("DELAY", delay))
    path.write_text(text)
    return path


def run_wrk(name: str, url: str, script: Path, seconds: float, threads: int, key: str,
            connections: int = CONCURRENCY) -> Figures:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
                          "-H", f"Authorization: Bearer {key}", "--timeout", "10s", "-s", str(script),
                          url + "/v1/reports"],
                         capture_output=True, text=True, check=True).stdout
    counts = re.search(r"ACCEPTED (\d+) OTHER (\d+)", out)
    runtime = re.search(r"requests in ([\d.]+)(\w+)", out)
    if not counts or not runtime:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    accepted, other = int(counts[1]), int(counts[2])
    elapsed = float(runtime[1]) * _UNITS[runtime[2]] / 1000
    pct = {int(p): float(v) * _UNITS[u] for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(\w+)$", out, re.M)}
    errors = re.search(r"Socket errors: (.*)", out)
    figures = Figures(name, accepted / elapsed, accepted, other, pct.get(50), pct.get(99))
    if errors:
        figures.extra["socket errors"] = errors[1]
    return figures


# ----------------------------------------------------------------------------- (d) NATS door
async def nats_door(name: str, url: str, run: str, seconds: float, rate: float | None) -> Figures:
    """`run` must differ per call: a reused Idempotency-Key is answered as a duplicate."""
    """32 concurrent requesters on one connection; with `rate`, each keeps its own schedule."""
    nc = await nats.connect(url)
    subject = subjects.intake_report_subject("bench")
    latencies: list[float] = []
    answers: dict[str, int] = {}
    deadline = time.perf_counter() + seconds

    async def requester(index: int) -> None:
        mean_gap = CONCURRENCY / rate if rate else 0.0
        due = time.perf_counter() + random.expovariate(1 / mean_gap) if rate else 0.0
        sent = 0
        while True:
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due = time.perf_counter() + random.expovariate(1 / mean_gap)
            if time.perf_counter() >= deadline:
                return
            sent += 1
            key = f"{run}-nats-{index}-{sent}"
            body = json.dumps({"kecamatan": KECAMATAN, "text": TEXT.format(key=key)}).encode()
            start = time.perf_counter()
            try:
                reply = await nc.request(subject, body, timeout=10, headers={"Idempotency-Key": key})
                status = json.loads(reply.data)["status"]
            except (TimeoutError, nats.errors.Error) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - start)
            answers[status] = answers.get(status, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(requester(i) for i in range(CONCURRENCY)))
    elapsed = time.perf_counter() - began
    await nc.close()
    accepted = answers.pop("accepted", 0)
    ms = [x * 1000 for x in latencies]
    figures = Figures(name, accepted / elapsed, accepted, sum(answers.values()),
                      percentile(ms, 0.5), percentile(ms, 0.99))
    if answers:
        figures.extra["answers"] = str(answers)
    return figures


# ----------------------------------------------------------------------------- the run
async def stream_messages(url: str) -> int:
    """ReportSubmitted events in the log (with `--system` triage adds events of its own)."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("DESK_EVENTS", subjects_filter=ReportSubmitted.subject)
        return sum((info.state.subjects or {}).values())
    finally:
        await nc.close()


class _QuietWebhook(BaseHTTPRequestHandler):
    """Stands in for the liaisons' webhooks with `--system`: takes every alert, says nothing."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def wait_serving(url: str, process: ServiceProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive:
            raise RuntimeError(f"intake exited:\n{process.output()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"intake did not serve within {timeout} s:\n{process.output()[-3000:]}")


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement (default 8)")
    parser.add_argument("--workers", type=int, default=None,
                        help="DESK_INTAKE_WORKERS for intake (default: intake's own default)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk's threads (default 1: the machine is small)")
    parser.add_argument("--system", action="store_true", help="also run triage, projection and notify")
    parser.add_argument("--doors", default="http,nats", help="which doors to measure (default http,nats)")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    print(f"machine: {machine()}")
    if not wrk:
        print("WRK IS MISSING: the HTTP measurements (b) and (c) are skipped. Install it: apt-get install -y wrk")

    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        home = Path(tmp)
        server = EmbeddedNats(home / "nats", free_port(), sync_always=True)
        server.start(log_file=home / "nats-server.log")
        port = free_port()
        env = {"DESK_NATS_URL": server.url, "DESK_INTAKE_PORT": str(port), "DESK_LOG_LEVEL": "WARNING",
               "DESK_INTAKE_AGENCY_RATE": UNTHROTTLED,
               "DESK_PROJECTION_PORT": str(free_port()),
               "DESK_ACCESS_PORT": str(free_port()), "DESK_TRIAGE_PORT": str(free_port()),
               "DESK_NOTIFY_PORT": str(free_port()),
               "DESK_PROJECTION_DATABASE_URL": f"sqlite:///{home / 'projection.db'}"}
        if args.workers is not None:
            env["DESK_INTAKE_WORKERS"] = str(args.workers)
        inbox: ThreadingHTTPServer | None = None
        if args.system:
            inbox = ThreadingHTTPServer(("127.0.0.1", 0), _QuietWebhook)
            threading.Thread(target=inbox.serve_forever, daemon=True).start()
            contacts = home / "contacts.toml"
            contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{inbox.server_port}/x"\n')
            env["DESK_NOTIFY_CONTACTS_FILE"] = str(contacts)
        processes = [p for p in service_processes(env, home) if args.system or p.name == "intake"]
        for p in processes:
            p.start()
        intake = next(p for p in processes if p.name == "intake")
        base_url = f"http://127.0.0.1:{port}"
        run = uuid.uuid4().hex[:8]
        results: dict[str, Figures] = {}
        warmed = 0

        def record(key: str, figures: Figures) -> None:
            results[key] = figures
            print(figures.line(baseline.rate), flush=True)
            print(f"{'':<34} cores used: {meter.cores()}", flush=True)

        try:
            wait_serving(base_url, intake)
            workers = env.get("DESK_INTAKE_WORKERS", f"{IntakeSettings().workers} (default)")
            print(f"intake: DESK_INTAKE_WORKERS={workers}; "
                  f"{'whole system running' if args.system else 'intake alone'}; {args.seconds:.0f} s per figure\n")
            before = asyncio.run(stream_messages(server.url))
            assert intake.process and server.process
            meter = CpuMeter(intake.process.pid, server.process.pid)
            baseline = asyncio.run(raw_baseline(server.url, args.seconds))
            print(baseline.line(None), flush=True)
            key = agency_key(BusSettings(nats_url=server.url), "bench")  # every report needs a registered agency
            print(f"{'':<34} cores used: {meter.cores()}", flush=True)
            if wrk and "http" in args.doors:
                warm = run_wrk("warm-up", base_url, wrk_script(home / "warm.lua", f"{run}w", None), 2, args.wrk_threads,
                               key)
                warmed = warm.accepted
                meter.cores()
                record("HTTP load", run_wrk("(b) HTTP wrk, 32 connections", base_url,
                                            wrk_script(home / "load.lua", f"{run}h", None), args.seconds,
                                            args.wrk_threads, key))
                record("HTTP paced", run_wrk(f"(c) HTTP wrk, paced ~{PACED_RATE:.0f}/s", base_url,
                                             wrk_script(home / "paced.lua", f"{run}p", 1000 * CONCURRENCY / PACED_RATE),
                                             args.seconds, args.wrk_threads, key))
                record("HTTP lockstep", run_wrk(f"(c) HTTP wrk, lockstep ~{PACED_RATE:.0f}/s", base_url,
                                                wrk_script(home / "lockstep.lua", f"{run}l",
                                                           1000 * CONCURRENCY / PACED_RATE, lockstep=True),
                                                args.seconds / 2, args.wrk_threads, key))
            if "nats" in args.doors:
                record("NATS load", asyncio.run(nats_door("(d) NATS door, 32 requesters", server.url, f"{run}n",
                                                          args.seconds, None)))
                record("NATS paced", asyncio.run(nats_door(f"(d) NATS door, paced ~{PACED_RATE:.0f}/s", server.url,
                                                           f"{run}q", args.seconds, PACED_RATE)))
            after = asyncio.run(stream_messages(server.url))
        finally:
            stop_all(processes)
            if inbox:
                inbox.shutdown()
            server.stop()
        counted = baseline.accepted + warmed + sum(r.accepted for r in results.values())
        print(f"\nReportSubmitted appended to the log during the run: {after - before:,}; baseline publishes and "
              f"accepted answers counted (warm-up included): {counted:,}")
        print("\ngoals:")
        for door in ("HTTP", "NATS"):
            load, calm = results.get(f"{door} load"), results.get(f"{door} paced")
            if not load or not calm:
                print(f"  {door}: NOT MEASURED" + (" (WRK IS MISSING)" if door == "HTTP" and not wrk else ""))
                continue
            print(f"  {door}: >= {GOAL_RATE:,.0f} accepted/s at 32: {load.rate:,.0f}/s -> "
                  f"{verdict(load.rate >= GOAL_RATE)};  p99 < {GOAL_P99_MS:.0f} ms at ~{PACED_RATE:.0f}/s: "
                  f"{calm.p99:.1f} ms at {calm.rate:,.0f}/s -> {verdict((calm.p99 or 1e9) < GOAL_P99_MS)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
