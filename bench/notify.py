"""Benchmark: notify delivering alerts, beside raw webhook POSTs measured in the same run.

    .venv/bin/python bench/notify.py [--burst 1000] [--minutes 1.0]

An embedded nats-server (fsync on every write), notify as its own process, and a webhook receiver
process (bench/receiver.py) that records when each alert arrives; the slow webhook is another receiver
process (another host, as a slow liaison's server would be). Every escalation names four liaisons: two whose
webhook answers at once, one whose webhook takes 3 s, one whose webhook is down (connection
refused). Figures are for the two healthy ones, so they show whether a slow or dead channel
holds the others.
- Burst: `--burst` escalations appended at once; the time until every healthy alert arrived.
  Baseline: the same number of alerts POSTed straight to the receiver with aiohttp, 16 at a time.
- Steady: 100, then 1,000 escalations a minute (`--rates`) for `--minutes` each; latency from the
  escalation's append (its PubAck) to the receiver's arrival, p50 and p99 (goals: p99 < 200 ms at
  100/min, < 1 s at 1,000/min).
Each escalation starts its chain (notify's policy, here one step naming the four liaisons), and
the chain's first alerts are what arrive."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import httpx

from bench.common import embedded_nats, machine, service, verdict
from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import ServiceProcess
from desk_shared.contracts.envelope import derived_id
from desk_shared.contracts.events import Actor, IncidentEscalated, IncidentEscalatedPayload, utc_now
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.policies import Rule, policy_toml

BURST_GOAL_SECONDS = 10.0
P99_GOALS_SECONDS = {100: 0.2, 1000: 1.0}
HEALTHY = ("polsek", "koramil")
POSITIONS = (*HEALTHY, "slow", "dead")
POLICY = policy_toml(Rule(steps=[POSITIONS]), extra_positions=("slow", "dead"))


def first_alert_id(event: IncidentEscalated, liaison_id: str) -> str:
    """The id of the chain's first alert to `liaison_id`."""
    return str(derived_id(derived_id(event.event_id, "EscalationStarted"), f"alert:{liaison_id}"))


class Receiver:
    """The webhook receiver process (bench/receiver.py): alerts arrive at /alerts, /slow takes 3 s."""

    def __init__(self, home: Path, name: str = "receiver") -> None:
        self.port = free_port()
        self.process = ServiceProcess(name, [sys.executable, "-m", "bench.receiver", str(self.port)], {},
                                      home / f"{name}.log").start()
        for _ in range(100):
            try:
                httpx.get(self.url("/arrivals"), timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the receiver did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def arrivals(self) -> dict[str, float]:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(self.url("/arrivals"))).json()


def contacts_file(home: Path, receiver: Receiver, slow: Receiver) -> Path:
    """Healthy liaisons to `receiver`, the slow one to another receiver (another host, as in life)."""
    path = home / "contacts.toml"
    path.write_text("\n".join(f'[[contact]]\nmatch = "{who}:*"\nwebhook = "{url}"\n' for who, url in (
        ("polsek", receiver.url("/alerts")), ("koramil", receiver.url("/alerts")), ("slow", slow.url("/slow")),
        ("dead", f"http://127.0.0.1:{free_port()}/alerts"))))
    return path


def escalation(n: int) -> IncidentEscalated:
    kecamatan = f"11.13.{n % 11 + 1:02d}"
    event_id = uuid.uuid4()
    now = utc_now()
    return IncidentEscalated(
        event_id=event_id, occurred_at=now, recorded_at=now, correlation_id=event_id, producer="bench",
        actor=Actor.service("bench"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code=kecamatan, category=Category.VIOLENCE,
            severity=Severity.KRITIS, summary=f"Bentrok di TPS {n}.", liaisons=()))


async def wait_arrivals(receiver: Receiver, count: int, within: float) -> dict[str, float] | None:
    """Every arrival, once there are `count` (None after `within` seconds)."""
    deadline = time.time() + within
    while time.time() < deadline:
        arrivals = await receiver.arrivals()
        if len(arrivals) >= count:
            return arrivals
        await asyncio.sleep(0.05)
    return None


async def raw_posts(receiver: Receiver, alerts: int) -> float:
    """Seconds for `alerts` POSTs straight to the receiver with aiohttp, 16 at a time (as notify
    posts to one receiver)."""
    limit = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as client:
        async def post(n: int) -> None:
            async with limit, client.post(receiver.url("/baseline"),
                                          json={"alert_id": f"raw-{n}", "message": "x" * 400}) as answer:
                await answer.read()
        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(alerts)))
        return time.perf_counter() - started


async def burst(bus: BusSettings, receiver: Receiver, count: int) -> float | None:
    nc = await connect(bus, "bench-burst")
    publisher = EventPublisher(nc.jetstream(), bus)
    events = [escalation(n) for n in range(count)]
    started = time.time()
    await publisher.publish_all(events)
    arrivals = await wait_arrivals(receiver, len(HEALTHY) * count, 120)
    publisher.close()
    await nc.close()
    return None if arrivals is None else max(arrivals.values()) - started


async def steady(bus: BusSettings, receiver: Receiver, per_minute: int, minutes: float) -> list[float]:
    """Latencies (s) of the healthy alerts of `per_minute` escalations a minute."""
    nc = await connect(bus, "bench-steady")
    publisher = EventPublisher(nc.jetstream(), bus)
    sent: list[tuple[float, IncidentEscalated]] = []
    deadline = time.time() + minutes * 60
    before = len(await receiver.arrivals())
    n = 0
    while time.time() < deadline:
        event = escalation(100_000 * per_minute + n)
        await publisher.publish(event)
        sent.append((time.time(), event))
        n += 1
        await asyncio.sleep(max(0.0, deadline - minutes * 60 + n * 60 / per_minute - time.time()))
    arrivals = await wait_arrivals(receiver, before + len(HEALTHY) * len(sent), 10) or await receiver.arrivals()
    latencies = []
    for at, event in sent:
        for who in HEALTHY:
            arrived = arrivals.get(first_alert_id(event, f"{who}:{event.payload.kecamatan_code}"))
            latencies.append(arrived - at if arrived is not None else float("inf"))
    publisher.close()
    await nc.close()
    return latencies


async def main(count: int, minutes: float, rates: list[int]) -> None:
    print(f"machine: {machine()}; nats-server with fsync on every write")
    with embedded_nats() as bus, tempfile.TemporaryDirectory() as home:
        receiver, slow = Receiver(Path(home)), Receiver(Path(home), "slow-receiver")
        nc = await connect(bus, "bench-setup")
        await ensure_streams(nc.jetstream(), bus)
        await nc.close()
        policy = Path(home) / "policy.toml"
        policy.write_text(POLICY)
        notify = service("notify", "desk_notify", bus, Path(home),
                         DESK_NOTIFY_CONTACTS_FILE=str(contacts_file(Path(home), receiver, slow)),
                         DESK_NOTIFY_POLICY_FILE=str(policy), DESK_NOTIFY_PORT="0").start()
        try:
            baseline = await raw_posts(receiver, len(HEALTHY) * count)
            took = await burst(bus, receiver, count)
            latencies = {rate: await steady(bus, receiver, rate, minutes) for rate in rates}
        finally:
            notify.stop()
            receiver.process.stop()
            slow.process.stop()
    alerts = len(HEALTHY) * count
    print(f"baseline: {alerts:,} raw POSTs to the receiver, 16 at a time: {baseline:.2f} s "
          f"({alerts / baseline:,.0f}/s)")
    if took is None:
        print(f"burst: {count:,} escalations, {alerts:,} healthy alerts: NOT ALL DELIVERED within 120 s")
    else:
        print(f"burst: {count:,} escalations (each also naming a 3 s and a dead webhook), {alerts:,} healthy alerts "
              f"delivered in {took:.2f} s ({alerts / took:,.0f}/s, {baseline / took:.2f}x baseline); "
              f"goal < {BURST_GOAL_SECONDS:.0f} s: {verdict(took < BURST_GOAL_SECONDS)}")
    for rate, found in latencies.items():
        ordered = sorted(found)
        p50 = statistics.median(ordered)
        p99 = ordered[min(int(0.99 * len(ordered)), len(ordered) - 1)]
        goal = P99_GOALS_SECONDS.get(rate)
        print(f"steady, {rate:,} escalations/minute for {minutes:g} min: {len(ordered)} healthy alerts, latency from "
              f"append to arrival p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
              + (f"; goal p99 < {goal * 1000:.0f} ms: {verdict(p99 < goal)}" if goal else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=1.0, help="per rate")
    parser.add_argument("--rates", default="100,1000", help="escalations per minute, comma-separated")
    args = parser.parse_args()
    asyncio.run(main(args.burst, args.minutes, [int(r) for r in args.rates.split(",")]))
