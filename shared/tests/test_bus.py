"""The streams, the publisher and the durable consumer against a real nats-server."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nats.aio.msg import Msg
from nats.js.api import StorageType
from nats.js.errors import APIError

from desk_pemilu.testing import read_stream_async
from desk_shared.bus import DeadLetters, EventPublisher, PublishFailed, connect
from desk_shared.consuming import ConsumerSpec, DurableConsumer, Poison
from desk_shared.settings import BusSettings
from desk_shared.streams import ensure_streams


async def test_streams_are_created_once_as_an_append_only_audit_log(bus: BusSettings,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    nc = await connect(bus, "test")
    js = nc.jetstream()
    await asyncio.gather(ensure_streams(js, bus), ensure_streams(js, bus))  # two services at once
    with caplog.at_level(logging.INFO):
        await ensure_streams(js, bus)
    assert "verified" in caplog.text and "differs" not in caplog.text
    info = await js.stream_info(bus.stream_name)
    assert info.config.storage == StorageType.FILE
    assert (info.config.deny_delete, info.config.deny_purge, info.config.max_age) == (True, True, 0)
    assert info.config.duplicate_window == bus.duplicate_window_seconds
    ack = await js.publish("desk.event.report.submitted", b"{}", headers={"Nats-Msg-Id": "m1"})
    again = await js.publish("desk.event.report.submitted", b"{}", headers={"Nats-Msg-Id": "m1"})
    assert (again.duplicate, again.seq) == (True, ack.seq)
    with pytest.raises(APIError):
        await js.delete_msg(bus.stream_name, ack.seq)
    with pytest.raises(APIError):
        await js.purge_stream(bus.stream_name)
    await nc.close()


async def test_a_stream_of_another_shape_is_reported_not_changed(bus: BusSettings,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    nc = await connect(bus, "test")
    js = nc.jetstream()
    await js.add_stream(name=bus.stream_name, subjects=["desk.event.>"], storage=StorageType.MEMORY)
    await ensure_streams(js, bus)
    assert "differs from its definition" in caplog.text
    assert (await js.stream_info(bus.stream_name)).config.storage == StorageType.MEMORY
    await nc.close()


async def test_publish_gives_up_with_publish_failed_when_no_stream_answers(bus: BusSettings) -> None:
    nc = await connect(bus, "test")
    publisher = EventPublisher(nc.jetstream(), bus.model_copy(update={"publish_retry_seconds": 0.5}))
    with pytest.raises(PublishFailed):
        await publisher.publish_raw("desk.nowhere", b"x", "id-1")
    await nc.close()


async def run_consumer(bus: BusSettings, handler, inputs: list[bytes], until, spec: ConsumerSpec) -> None:
    nc = await connect(bus, "test")
    js = nc.jetstream()
    publisher = EventPublisher(js, bus)
    consumer = DurableConsumer(js, bus, spec, DeadLetters(publisher, bus, spec.name))
    await consumer.ensure()
    for i, data in enumerate(inputs):
        await publisher.publish_raw("desk.event.report.submitted", data, f"in-{i}")
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(handler, stop))
    try:
        for _ in range(200):
            if until():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await nc.close()


SPEC = ConsumerSpec("test", "desk.event.report.submitted", max_deliver=3, first_retry_delay=0.1, ack_wait_seconds=5)


async def test_failures_are_retried_with_backoff_then_dead_lettered(bus: BusSettings) -> None:
    attempts: dict[bytes, int] = {}

    async def handler(msg: Msg) -> None:
        attempts[msg.data] = attempts.get(msg.data, 0) + 1
        if msg.data == b"flaky" and attempts[msg.data] < 3:
            raise RuntimeError("database down")
        if msg.data == b"broken":
            raise RuntimeError("always")
        if msg.data == b"poison":
            raise Poison("cannot decode")

    def settled() -> bool:
        return attempts.get(b"flaky") == 3 and attempts.get(b"broken") == 3 and b"poison" in attempts

    await run_consumer(bus, handler, [b"flaky", b"broken", b"poison", b"fine"], settled, SPEC)
    await asyncio.sleep(0.3)
    assert attempts == {b"flaky": 3, b"broken": 3, b"poison": 1, b"fine": 1}
    dead = await read_stream_async(bus, bus.dead_letter_stream_name)
    assert sorted(data for _, _, data in dead) == [b"broken", b"poison"]
    assert {subject for _, subject, _ in dead} == {"desk.deadletter.test"}


async def test_a_vanished_consumer_is_recreated_and_consumption_goes_on(bus: BusSettings,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[bytes] = []
    nc = await connect(bus, "admin")
    js = nc.jetstream()

    async def handler(msg: Msg) -> None:
        seen.append(msg.data)
        if msg.data == b"first":
            await js.delete_consumer(bus.stream_name, SPEC.name)
            await js.publish("desk.event.report.submitted", b"second", headers={"Nats-Msg-Id": "second"})

    await run_consumer(bus, handler, [b"first"], lambda: b"second" in seen, SPEC)
    await nc.close()
    assert b"second" in seen
    assert "was missing: created" in caplog.text


async def test_a_parallel_consumer_handles_a_fetch_concurrently(bus: BusSettings) -> None:
    running: list[int] = []
    peak: list[int] = []

    async def slow(msg: Msg) -> None:
        running.append(1)
        peak.append(len(running))
        await asyncio.sleep(0.3)
        running.pop()

    spec = ConsumerSpec("parallel", "desk.event.report.submitted", batch=4, parallel=True)
    await run_consumer(bus, slow, [b"a", b"b", b"c", b"d"], lambda: len(peak) == 4 and not running, spec)
    assert len(peak) == 4
    assert max(peak) > 1
