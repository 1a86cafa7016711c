"""Benchmark: triage working through a backlog, beside a raw loop measured in the same run.

    .venv/bin/python bench/triage.py [--reports 20000] [--batch 256]

An embedded nats-server (fsync on every write, as `./desk up` runs it) is given a backlog of
ReportSubmitted events with the labelled corpus's texts (about a third urgent). Baseline: the
least any consumer with effects must do, a raw nats-py loop over the same backlog that fetches a
batch, publishes one derived event per input (pipelined, Msg-Id set), waits for the
acknowledgements and acks the inputs. Then the triage service runs as its own process over the
backlog (classifying, placing each report in an incident with an atomic conditional append per
kecamatan, publishing ReportTriaged; incident events, assignments, escalations and levels as due);
its rate is the backlog over the time from its first delivery to its last acknowledgement."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from nats.js.api import AckPolicy, ConsumerConfig

from bench.common import consumer_done, embedded_nats, machine, process_cpu_seconds, service, submitted_reports, verdict
from desk_shared.contracts.events import IncidentEscalated, ReportSubmitted
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

GOAL_RATE = 3000.0
GOAL_RATIO = 0.6


async def fill(bus: BusSettings, reports: int) -> int:
    nc = await connect(bus, "bench-fill")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    publisher = EventPublisher(js, bus)
    events = submitted_reports(reports)
    for start in range(0, len(events), 2000):
        await publisher.publish_all(events[start:start + 2000])
    last = (await js.stream_info(bus.stream_name)).state.last_seq
    await nc.close()
    return last


async def raw_loop(bus: BusSettings, reports: int, batch: int) -> float:
    """fetch(batch) -> publish one derived event per input, pipelined -> await acks -> ack inputs."""
    nc = await connect(bus, "bench-raw")
    js = nc.jetstream()
    await js.add_consumer(bus.stream_name, ConsumerConfig(durable_name="bench-raw", ack_policy=AckPolicy.EXPLICIT,
                                                          filter_subject=ReportSubmitted.subject, ack_wait=60))
    sub = await js.pull_subscribe_bind("bench-raw", bus.stream_name)
    done = 0
    start = time.perf_counter()
    while done < reports:
        msgs = await sub.fetch(batch, timeout=5)
        futures = [await js.publish_async("desk.event.bench.derived", m.data,
                                          headers={"Nats-Msg-Id": f"raw-{m.metadata.sequence.stream}"})
                   for m in msgs]
        await asyncio.gather(*futures)
        for m in msgs:
            await m.ack()
        done += len(msgs)
    elapsed = time.perf_counter() - start
    await nc.close()
    return reports / elapsed


async def triage_rate(bus: BusSettings, last: int, batch: int, home: Path, replicas: int) -> tuple[float, int]:
    processes = [service(f"triage-{n}", "desk_triage", bus, home, DESK_TRIAGE_BATCH=str(batch),
                         DESK_TRIAGE_PORT="0").start() for n in range(replicas)]
    nc = await connect(bus, "bench-watch")
    try:
        progress = await consumer_done(nc.jetstream(), bus.stream_name, "triage", last)
        cpu = sum(process_cpu_seconds(p.process.pid) for p in processes if p.process)
        info = await nc.jetstream().stream_info(bus.stream_name, subjects_filter=IncidentEscalated.subject_filter)
        escalated = sum((info.state.subjects or {}).values())
    finally:
        await nc.close()
        for p in processes:
            p.stop()
    assert progress.first_at is not None and progress.done_at is not None
    print(f"triage CPU (start-up included): {cpu:.1f} s, {cpu / last * 1e6:.0f} us per report")
    return last / (progress.done_at - progress.first_at), escalated


async def main(reports: int, batch: int, replicas: int) -> None:
    print(f"machine: {machine()}; nats-server with fsync on every write")
    with embedded_nats() as bus, tempfile.TemporaryDirectory() as home:
        last = await fill(bus, reports)
        assert last == reports
        baseline = await raw_loop(bus, reports, batch)
        rate, escalated = await triage_rate(bus, last, batch, Path(home), replicas)
    ratio = rate / baseline
    print(f"backlog: {reports:,} reports; triage escalated {escalated:,} of them")
    print(f"baseline, raw fetch({batch}) -> publish derived -> ack: {baseline:,.0f} reports/s")
    print(f"triage service, {replicas} process(es) (classify, place in incidents, ReportTriaged): "
          f"{rate:,.0f} reports/s, {ratio:.2f}x baseline")
    print(f"goal >= {GOAL_RATE:,.0f}/s: {verdict(rate >= GOAL_RATE)}; goal >= {GOAL_RATIO}x baseline: "
          f"{verdict(ratio >= GOAL_RATIO)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--replicas", type=int, default=1, help="triage processes sharing the work")
    args = parser.parse_args()
    asyncio.run(main(args.reports, args.batch, args.replicas))
