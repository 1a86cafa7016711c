"""Benchmark: what checking an agency's API key costs intake, beside intake's own cost per report.

    .venv/bin/python -m bench.credentials [--seconds 8] [--agencies 500]

Baseline, measured in the same run: intake as its own process (embedded nats-server, fsync on
every write) under wrk at 32 connections, every request with a valid key; its CPU time per
accepted report. Then the key check exactly as intake runs it (`authenticated`: parse the
header, find the key among those of `--agencies` registered agencies with two keys each,
compare digests, count the agency's rate or the client's failure) timed in this process over
many calls, valid and invalid keys alternating.
The ratio is the share of intake's CPU per report the check takes: the throughput it costs
when intake is CPU-bound (the goal: under 10%)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench.common import UNTHROTTLED, machine, verdict
from bench.intake import run_wrk, tree_cpu_seconds, wait_serving, wrk_script
from desk_intake.reports_endpoint import authenticated
from desk_intake.throttle import Throttle
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.access.registry import Registry, evolve, issue, register
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.regions import regions
from desk_shared.runtime.settings import BusSettings
from desk_testing.agencies import agency_key

GOAL_SHARE = 0.10
OPERATOR = Actor(kind="person", id="bench")


def intake_cpu_per_report(seconds: float) -> tuple[float, float]:
    """(µs of intake CPU per accepted report, accepted/s) under wrk at 32 connections."""
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        home = Path(tmp)
        server = EmbeddedNats(home / "nats", free_port(), sync_always=True)
        server.start(log_file=home / "nats-server.log")
        port = free_port()
        intake = ServiceProcess("intake", service_command("desk_intake"), {
            "DESK_NATS_URL": server.url, "DESK_INTAKE_PORT": str(port), "DESK_LOG_LEVEL": "WARNING",
            "DESK_INTAKE_AGENCY_RATE": UNTHROTTLED},
            home / "intake.log").start()
        try:
            key = agency_key(BusSettings(nats_url=server.url), "bench")
            url = f"http://127.0.0.1:{port}"
            wait_serving(url, intake)
            run_wrk("warm-up", url, wrk_script(home / "warm.lua", "w", None), 2, 1, key)
            assert intake.process
            before = tree_cpu_seconds(intake.process.pid)
            figures = run_wrk("load", url, wrk_script(home / "load.lua", "l", None), seconds, 1, key)
            used = tree_cpu_seconds(intake.process.pid) - before
            return used / max(figures.accepted, 1) * 1e6, figures.rate
        finally:
            intake.stop()
            server.stop()


def check_cost(agencies: int, calls: int) -> float:
    """µs per `authenticated` call over a registry of `agencies` agencies with two keys each."""
    registry, tokens = Registry(), []
    for n in range(agencies):
        code = f"agency-{n}"
        registry = evolve(registry, register(registry, regions(), code=code, name=code, kind=AgencyKind.OTHER,
                                             areas=Areas(regencies=("11.13",)), actor=OPERATOR, producer="bench"))
        for _ in range(2):
            issued = issue(registry, code=code, actor=OPERATOR, producer="bench")
            registry = evolve(registry, issued.event)
            tokens.append(issued.token)
    headers = [f"Bearer {t}" if i % 2 == 0 else f"Bearer {t[:-1]}x" for i, t in enumerate(tokens)]
    state = SimpleNamespace(registry=lambda: registry, throttle=Throttle(1e9, 10**9, 10**9))
    started = time.perf_counter()
    for i in range(calls):
        authenticated(state, headers[i % len(headers)], f"10.0.0.{i % 200}")  # type: ignore[arg-type]
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="the load (default 8)")
    parser.add_argument("--agencies", type=int, default=500, help="registered agencies (default 500)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    print(f"machine: {machine()}; nats-server with fsync on every write", flush=True)
    per_report, rate = intake_cpu_per_report(args.seconds)
    print(f"baseline: intake at 32 connections, {rate:,.0f} accepted/s, {per_report:,.0f} µs of CPU per report",
          flush=True)
    cost = check_cost(args.agencies, 200_000)
    share = cost / per_report
    print(f"key check over {args.agencies} agencies ({2 * args.agencies} keys), valid and invalid alternating: "
          f"{cost:.1f} µs per request = {share:.1%} of intake's CPU per report")
    print(f"goal: the check costs under {GOAL_SHARE:.0%} of intake's throughput: {share:.1%} -> "
          f"{verdict(share < GOAL_SHARE)}")


if __name__ == "__main__":
    main()
