"""Benchmark: duplicate alerts when notify is killed -9 at random, again and again, while it works.

    .venv/bin/python -m bench.notify_kills [--kills 100] [--escalations 1500]

An embedded nats-server (fsync on every write), notify as its own process, and a receiver process
(bench/receiver.py) that is both a webhook and an SMS gateway: every escalation alerts the
Polsek by webhook (the alert's id as Idempotency-Key: a receiver that honours it drops repeats)
and the Koramil by SMS (no idempotency key: notify's ledger records the attempt before sending
and asks the gateway after a crash). Escalations arrive steadily; after a first part without
kills (the baseline, same run), notify is killed -9 `--kills` times at random moments (1.5–3 s
after it was started again, so most kills land while it works, not while it starts). Printed:
alerts expected, delivered, missing, and the repeats on each channel, without and with kills."""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.common import embedded_nats, machine, service
from bench.notify import Receiver
from desk_shared.contracts.events import Actor, IncidentEscalated, IncidentEscalatedPayload, utc_now
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.policies import Rule, policy_toml

POLICY = policy_toml(Rule(steps=[["polsek", "koramil"]], ack_within_minutes=600))


def escalation(n: int) -> IncidentEscalated:
    event_id = uuid.uuid4()
    now = utc_now()
    return IncidentEscalated(
        event_id=event_id, occurred_at=now, recorded_at=now, correlation_id=event_id, producer="bench",
        actor=Actor.service("bench"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code=f"11.13.{n % 11 + 1:02d}",
            category=Category.VIOLENCE, severity=Severity.KRITIS, summary=f"Bentrok di TPS {n}.", liaisons=()))


async def feed(bus: BusSettings, count: int, per_second: float, started: asyncio.Event) -> None:
    nc = await connect(bus, "bench-feed")
    publisher = EventPublisher(nc.jetstream(), bus)
    begin = time.monotonic()
    for n in range(count):
        await publisher.publish(escalation(n))
        if n == count // 5:
            started.set()  # the first fifth arrived without kills
        await asyncio.sleep(max(0.0, begin + (n + 1) / per_second - time.monotonic()))
    publisher.close()
    await nc.close()


async def counts(receiver: Receiver) -> tuple[dict[str, int], dict[str, int]]:
    async with httpx.AsyncClient(timeout=10) as client:
        return ((await client.get(receiver.url("/counts"))).json(),
                (await client.get(receiver.url("/gw/counts"))).json())


def repeats(found: dict[str, int]) -> int:
    return sum(n - 1 for n in found.values())


async def main(kills: int, escalations: int, seed: int) -> None:
    print(f"machine: {machine()}; nats-server with fsync on every write")
    rng = random.Random(seed)
    with embedded_nats() as bus, tempfile.TemporaryDirectory() as home:
        receiver = Receiver(Path(home))
        contacts, policy = Path(home) / "contacts.toml", Path(home) / "policy.toml"
        contacts.write_text(f'[[contact]]\nid = "polsek"\nserves = ["polsek:*"]\nlabel = "Polsek"\n'
                            f'channels = [{{kind = "webhook", address = "{receiver.url("/alerts")}"}}]\n\n'
                            '[[contact]]\nid = "koramil"\nserves = ["koramil:*"]\nlabel = "Koramil"\n'
                            'channels = [{kind = "sms", address = "+6281200000001"}]\n')
        policy.write_text(POLICY)
        nc = await connect(bus, "bench-setup")
        await ensure_streams(nc.jetstream(), bus)
        await nc.close()
        notify = service("notify", "desk_notify", bus, Path(home), DESK_NOTIFY_CONTACTS_FILE=str(contacts),
                         DESK_NOTIFY_POLICY_FILE=str(policy), DESK_NOTIFY_PORT="0",
                         DESK_NOTIFY_GATEWAY_URL=receiver.url("/gw"), DESK_NOTIFY_RATE_PER_MINUTE="{}",
                         DESK_NOTIFY_GROUP_SECONDS="0").start()
        try:
            baseline_done = asyncio.Event()
            feeding = asyncio.create_task(feed(bus, escalations, escalations / (kills * 2.25 * 1.25), baseline_done))
            await baseline_done.wait()
            await asyncio.sleep(2)
            webhook_before, sms_before = await counts(receiver)
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(1.5, 3.0))
                notify.process.kill()  # type: ignore[union-attr]
                notify.process.wait()  # type: ignore[union-attr]
                notify.start()
            await feeding
            deadline = time.time() + 180
            while time.time() < deadline:
                webhook, sms = await counts(receiver)
                if len(webhook) >= escalations and len(sms) >= escalations:
                    break
                await asyncio.sleep(1)
        finally:
            notify.stop()
            receiver.process.stop()
    base = len(webhook_before)
    print(f"without kills: {base} escalations, {len(webhook_before)} webhook and {len(sms_before)} SMS alerts, "
          f"repeats {repeats(webhook_before)} (webhook) and {repeats(sms_before)} (SMS)")
    print(f"with {kills} kill -9 of notify: {escalations} escalations, {escalations * 2} alerts expected; delivered "
          f"{len(webhook)} by webhook and {len(sms)} by SMS (missing {escalations - len(webhook)} and "
          f"{escalations - len(sms)}); repeats: webhook {repeats(webhook) - repeats(webhook_before)} (same "
          f"Idempotency-Key: a receiver honouring it shows none), SMS {repeats(sms) - repeats(sms_before)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--escalations", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    asyncio.run(main(args.kills, args.escalations, args.seed))
