"""Benchmark: `desk-audit verify` over NATS, against a raw ordered consumer reading the same log.

    .venv/bin/python -m bench.audit [--events 200000] [--seal-every 2000]

An embedded nats-server (no fsync: filling is not what is measured) holds a log of report events
sealed every `--seal-every` messages by the audit service's sealer. Baseline: an ordered push
consumer that only counts the messages it receives (the fastest nats-py reads a stream). Then the
verifier as `desk-audit verify` runs it: every message's leaf recomputed, every seal's range,
chain, roots and signature checked. Then the same on an export file, offline."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from nats.js import JetStreamContext

from bench.common import embedded_nats, machine
from bench.intake import typical_event
from desk_audit import checks, exports, source
from desk_audit.notes import SigningKey
from desk_audit.sealer import Sealer
from desk_audit.verify import Verifier
from desk_audit.witnessing import Cosigner
from desk_shared.contracts import subjects
from desk_shared.contracts.reports import ReportSubmitted
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams


async def fill(bus: BusSettings, events: int, seal_every: int, key: SigningKey) -> None:
    nc = await connect(bus, "bench-fill")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    publisher = EventPublisher(js, bus)
    sealer = Sealer(js, publisher, bus.stream_name, key, "bench/DESK_EVENTS", Cosigner([]), seal_every)
    data = typical_event()
    sent = 0
    while sent < events:
        chunk = min(seal_every, events - sent)
        await publisher.publish_many([
            (ReportSubmitted.subject, data, str(uuid.uuid4()), None) for _ in range(chunk)])
        sent += chunk
        while await sealer.seal_once():
            pass
    await nc.close()


async def raw_read(js: JetStreamContext, stream: str, end: int) -> float:
    done = asyncio.Event()
    count = 0

    async def take(msg: object) -> None:
        nonlocal count
        count += 1
        if count >= end:
            done.set()

    started = time.perf_counter()
    sub = await js.subscribe(subjects.ALL_EVENTS, stream=stream, ordered_consumer=True, cb=take,
                             pending_msgs_limit=-1, pending_bytes_limit=-1)
    await done.wait()
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    return end / elapsed


async def measure(bus: BusSettings, key: SigningKey, home: Path) -> tuple[float, float, float, int, int]:
    nc = await connect(bus, "bench-verify")
    js = nc.jetstream()
    end = await source.last_sequence(js, bus.stream_name)
    baseline = await raw_read(js, bus.stream_name, end)
    started = time.perf_counter()
    outcome = await checks.verify_stream(js, bus.stream_name, Verifier(key.verifier))
    verified = end / (time.perf_counter() - started)
    assert outcome.clean and outcome.sealed_to >= end - 1, outcome.findings[:3]
    export = home / "log.jsonl"
    with export.open("w") as out:
        await exports.write_range(js, bus.stream_name, out, 1, end, key.verifier.text())
    await nc.close()
    started = time.perf_counter()
    with export.open() as lines:
        numbered = exports.read_lines(lines)
        header = checks.export_header(numbered)
        offline = checks.verify_export(numbered, header, lambda start: Verifier(key.verifier, start=start))
    offline_rate = end / (time.perf_counter() - started)
    assert offline.clean
    return baseline, verified, offline_rate, end, outcome.seals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seal-every", type=int, default=2000)
    args = parser.parse_args()
    key = SigningKey.generate("bench")
    print(f"machine: {machine()}")
    with embedded_nats(sync_always=False) as bus, tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        asyncio.run(fill(bus, args.events, args.seal_every, key))
        print(f"log: {args.events:,} report events sealed every {args.seal_every:,} "
              f"({time.perf_counter() - started:.0f} s to fill and seal)")
        baseline, verified, offline, end, seals = asyncio.run(measure(bus, key, Path(home)))
    print(f"baseline, raw ordered consumer (count only): {baseline:,.0f} messages/s over {end:,} messages")
    print(f"desk-audit verify over NATS:                 {verified:,.0f} messages/s ({seals} seals)  "
          f"ratio {verified / baseline:.2f}")
    print(f"desk-audit verify of an export (offline):    {offline:,.0f} messages/s  ratio {offline / baseline:.2f}")


if __name__ == "__main__":
    main()
