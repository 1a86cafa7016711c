"""The streams and the publisher against a real nats-server."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nats.js.api import StorageType
from nats.js.errors import APIError

from desk_shared.contracts.incidents import area_filter
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import AppendConflict, EventPublisher, Expected, PublishFailed
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing import samples
from desk_testing.fixtures import read_stream_async


async def test_streams_are_created_once_as_an_append_only_audit_log(bus: BusSettings,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    nc = await connect(bus, "test")
    js = nc.jetstream()
    await asyncio.gather(ensure_streams(js, bus), ensure_streams(js, bus))  # two services at once
    with caplog.at_level(logging.DEBUG):
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


async def test_a_batch_is_stored_in_order_and_a_repeated_batch_adds_nothing(bus: BusSettings) -> None:
    nc = await connect(bus, "test")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    publisher = EventPublisher(js, bus)
    events = samples.sample_log(40)
    acks = await publisher.publish_all(events)
    assert [a.seq for a in acks] == list(range(1, len(events) + 1))
    again = await publisher.publish_all(events)
    assert all(a.duplicate for a in again) and [a.seq for a in again] == [a.seq for a in acks]
    stored = await read_stream_async(bus, bus.stream_name)
    assert [data for _, _, data in stored] == [e.to_json() for e in events]
    assert [subject for _, subject, _ in stored] == [e.address for e in events]
    await nc.close()


async def test_publish_gives_up_with_publish_failed_when_no_stream_answers(bus: BusSettings) -> None:
    nc = await connect(bus, "test")
    publisher = EventPublisher(nc.jetstream(), bus.model_copy(update={"publish_retry_seconds": 0.5}))
    with pytest.raises(PublishFailed):
        await publisher.publish_raw("desk.nowhere", b"x", "id-1")
    await nc.close()


async def test_an_atomic_append_is_all_or_nothing_and_only_on_condition(bus: BusSettings) -> None:
    """Two writers decided against the same state of a kecamatan: the first appends its whole
    batch, the second is refused with the sequence the log has there now and stores nothing."""
    nc = await connect(bus, "test")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    publisher = EventPublisher(js, bus)
    story = samples.incident_story(3)  # a kritis escalation in 11.13.04 (keyed), among others
    escalated = next(e for e in story if e.event_type == "IncidentEscalated")
    kecamatan = escalated.payload.kecamatan_code  # type: ignore[attr-defined]
    where = area_filter(kecamatan)
    first = await publisher.append_atomic([escalated], Expected(0, where))
    assert first.seq == 1
    other = samples.incident_story(3 + 11)  # another escalation in the same kecamatan
    late = next(e for e in other if e.event_type == "IncidentEscalated")
    with pytest.raises(AppendConflict) as refused:
        await publisher.append_atomic([late, *[e for e in other if e.event_type == "ReportSubmitted"]],
                                      Expected(0, where))
    assert refused.value.last_seq == 1
    assert [seq for seq, _, _ in await read_stream_async(bus, bus.stream_name)] == [1]  # nothing of the batch
    with pytest.raises(AppendConflict):  # the same events again: already stored
        await publisher.append_atomic([escalated], Expected(1, where))
    assert (await publisher.append_atomic([late], Expected(1, where))).seq == 2
    await nc.close()
