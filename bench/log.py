"""Benchmark: how fast the log itself appends with fsync on every write, the ceiling of every service.

    .venv/bin/python -m bench.log [--seconds 4]

An embedded nats-server (JetStream on disk, fsync on every write, as `./desk up` runs it) and
streams of its own. Baseline: one publisher awaiting each `js.publish` of a typical report.
Then 32 and 128 concurrent publishers; 32 on a stream that allows atomic batches; and atomic
batches (nats-server 2.12 and later: the messages of a batch published plainly, the last one
committing it and awaited): all of a batch is stored, or none, with one acknowledgement."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client

from bench.common import embedded_nats, machine
from bench.intake import typical_event

PLAIN, ATOMIC = "bench.log.plain", "bench.log.atomic"


async def create_stream(nc: Client, name: str, subject: str, atomic: bool) -> None:
    """nats-py's StreamConfig has no field for atomic publishing: the API's JSON directly."""
    config = {"name": name, "subjects": [subject], "storage": "file", "num_replicas": 1, "allow_atomic": atomic}
    answer = json.loads((await nc.request(f"$JS.API.STREAM.CREATE.{name}", json.dumps(config).encode())).data)
    if "error" in answer:
        raise RuntimeError(answer["error"])


async def rate(seconds: float, workers: int, append: Callable[[], Awaitable[int]]) -> float:
    """Messages appended per second by `workers` loops of `append` (each returns how many it stored)."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            stored = await append()  # `done += await ...` would read `done` before awaiting
            done += stored

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(workers)))
    return done / (time.perf_counter() - began)


async def main(seconds: float) -> None:
    print(f"machine: {machine()}; nats-server with fsync on every write")
    data = typical_event()
    with embedded_nats() as bus:
        nc = await nats.connect(bus.nats_url)
        js = nc.jetstream()
        await create_stream(nc, "BENCH_PLAIN", PLAIN, atomic=False)
        await create_stream(nc, "BENCH_ATOMIC", ATOMIC, atomic=True)

        def one_to(subject: str) -> Callable[[], Awaitable[int]]:
            async def one() -> int:
                await js.publish(subject, data, headers={"Nats-Msg-Id": uuid.uuid4().hex})
                return 1
            return one

        def batch_of(size: int) -> Callable[[], Awaitable[int]]:
            async def batch() -> int:
                batch_id = uuid.uuid4().hex
                for n in range(1, size):
                    await nc.publish(ATOMIC, data, headers={"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(n)})
                answer = await nc.request(ATOMIC, data, timeout=10, headers={
                    "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(size), "Nats-Batch-Commit": "1"})
                reply = json.loads(answer.data)
                if reply.get("count") != size:
                    raise RuntimeError(f"the batch was not stored whole: {reply}")
                return size
            return batch

        baseline = await rate(seconds, 1, one_to(PLAIN))
        print(f"baseline: 1 publisher, each js.publish awaited: {baseline:,.0f} appends/s")
        for workers in (32, 128):
            measured = await rate(seconds, workers, one_to(PLAIN))
            print(f"{workers} concurrent publishers: {measured:,.0f} appends/s ({measured / baseline:.2f}x)")
        measured = await rate(seconds, 32, one_to(ATOMIC))
        print(f"32 concurrent publishers, stream allowing atomic batches: {measured:,.0f} appends/s "
              f"({measured / baseline:.2f}x)")
        for size in (10, 100):
            measured = await rate(seconds, 1, batch_of(size))
            print(f"atomic batches of {size}, one at a time: {measured:,.0f} appends/s ({measured / baseline:.2f}x)")
        await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement (default 4)")
    asyncio.run(main(parser.parse_args().seconds))
