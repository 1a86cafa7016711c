"""Benchmark: a generated election day through the live triage and projection, then replayed.

    .venv/bin/python -m bench.determinism [--reports 20000] [--seed 2024] [--keep DIR]

A nats-server with the desk's users (no fsync, as the tests run it), triage and the projection as
their own processes; the day of `desk_testing.election_day` published as intake would, with the
officers acting through triage's command door. Printed: the events the day made, the rate at which
triage took its reports (from the first publish to the last report triaged) and its CPU, then
`desk-triage replay` over the log as the auditor and over a JSON Lines export (one process, and two
workers), and `desk-projection check` against the live read models; wall time and CPU of each."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import machine, process_cpu_seconds
from desk_access.nats_authorization import AUDITOR, OPERATOR
from desk_pemilu.processes import service_command
from desk_testing.election_day import SecuredDesk, election_day, officer_tokens, run_election_day, secured_desk, settled
from desk_testing.fixtures import read_stream


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a command; its wall time, the CPU it and its children used, and what it did."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=os.environ | env, capture_output=True, text=True, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu, done


def write_export(desk: SecuredDesk, path: Path) -> int:
    """The log as JSON Lines (seq, subject, data), read as the auditor."""
    messages = read_stream(desk.bus(AUDITOR))
    with path.open("w", encoding="utf-8") as out:
        for seq, subject, data in messages:
            out.write(json.dumps({"seq": seq, "subject": subject, "data": data.decode()}, ensure_ascii=False) + "\n")
    return len(messages)


def run(reports: int, seed: int, home: Path) -> None:
    print(f"machine: {machine()}; nats-server without fsync, with the desk's users")
    with secured_desk(home) as desk:
        tokens = officer_tokens(desk.bus(OPERATOR), 3)
        made = time.perf_counter()
        events = election_day(reports, seed)
        print(f"generated {len(events):,} reports in {time.perf_counter() - made:.1f} s")
        start = time.perf_counter()
        outcome = asyncio.run(run_election_day(desk.bus("intake"), desk.bus("projection"), tokens, events, seed))
        took = time.perf_counter() - start
        cpu = {p.name: process_cpu_seconds(p.process.pid) for p in desk.processes if p.process}
        cpu["nats-server"] = process_cpu_seconds(desk.nats.process.pid) if desk.nats.process else 0.0
        cpu["generator"] = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        last = asyncio.run(settled(desk.bus(AUDITOR)))
        used = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
        print(f"day: {reports:,} reports triaged and {sum(outcome.commands.values()):,} officers' commands answered "
              f"in {took:.1f} s ({reports / took:,.0f} reports/s); triage CPU {cpu['triage']:.1f} s "
              f"({cpu['triage'] / reports * 1e3:.2f} ms per report); commands by status "
              f"{dict(sorted(outcome.commands.items()))}; CPU seconds: {used}")
        kinds = Counter(json.loads(data)["type"] for _, _, data in read_stream(desk.bus(AUDITOR)))
        print(f"log: {last:,} events, settled {time.perf_counter() - start - took:.1f} s after the day; "
              f"{dict(kinds.most_common())}")
        export = home / "log.jsonl"
        exporting = time.perf_counter()
        write_export(desk, export)
        print(f"export written in {time.perf_counter() - exporting:.1f} s ({export.stat().st_size / 1e6:.0f} MB)")
        replay = ("desk_triage", "replay", "--no-progress")
        for label, argv, env in (
                ("replay --from-nats (auditor), default jobs", service_command(*replay, "--from-nats"),
                 desk.env(AUDITOR)),
                ("replay --export, --jobs 1", service_command(*replay, "--export", str(export), "--jobs", "1"), {}),
                ("replay --export, --jobs 2", service_command(*replay, "--export", str(export), "--jobs", "2"), {}),
                ("desk-projection check", service_command("desk_projection", "check", "--database-url",
                                                          desk.database_url, "--no-progress"),
                 desk.env("projection"))):
            seconds, cpu, done = timed(argv, env)
            print(f"{label}: exit {done.returncode} in {seconds:.1f} s, {cpu:.1f} s CPU ({last / seconds:,.0f} "
                  f"events/s)")
            print("  " + "\n  ".join((done.stdout + done.stderr).strip().splitlines()[-2:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000, help="reports of the day (about 5.1 events each)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (logs, the export, the database)")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.reports, args.seed, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="desk-determinism-") as home:
            run(args.reports, args.seed, Path(home))
    return 0


if __name__ == "__main__":
    sys.exit(main())
