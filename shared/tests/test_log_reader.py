"""The ordered log reader against a real nats-server, with a sink kept in memory: decoding, the
fingerprint of its position, bounded retries and dead letters, halving a failing batch, a sink
that is down, and a log that is not the one the sink's position refers to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from desk_shared.contracts.events import Event
from desk_shared.runtime.bus import connect
from desk_shared.runtime.log_reader import (
    BatchResult,
    Checkpoint,
    Delivered,
    EventFailed,
    LogReader,
    PositionConflict,
    RetryPolicy,
)
from desk_shared.runtime.positions import fingerprint
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples

FAST = RetryPolicy(max_attempts=3, first_delay_seconds=0.05, max_delay_seconds=0.1)


@dataclass
class MemorySink:
    """Applies by remembering; `fail(fresh)` may raise to make a batch fail."""

    stored: Checkpoint = field(default_factory=lambda: Checkpoint(0, None))
    applied: list[Delivered] = field(default_factory=list)
    skipped: list[Delivered] = field(default_factory=list)
    batches: list[list[int]] = field(default_factory=list)
    fail: Callable[[list[Delivered]], None] | None = None

    def checkpoint(self) -> Checkpoint:
        return self.stored

    def apply_batch(self, expected: int, batch: Sequence[Delivered]) -> BatchResult:
        if expected != self.stored.position:
            raise PositionConflict(f"at {self.stored.position}, expected {expected}")
        fresh = [d for d in batch if d.seq > expected]
        if not fresh:
            return BatchResult(expected, 0, 0)
        self.batches.append([d.seq for d in fresh])
        if self.fail is not None:
            self.fail(fresh)
        skipped = [d for d in fresh if d.skipped is not None]
        applied = [d for d in fresh if d.skipped is None and d.event is not None]
        self.skipped += skipped
        self.applied += applied
        self.stored = Checkpoint(fresh[-1].seq, fresh[-1].fingerprint or None)
        return BatchResult(fresh[-1].seq, len(applied), len(fresh) - len(applied) - len(skipped), len(skipped))


def reader(sink: MemorySink, bus: BusSettings, retry: RetryPolicy = FAST) -> LogReader:
    return LogReader(sink, bus, name="test-reader", batch_size=20, fetch_timeout_seconds=0.2, retry=retry,
                     consumer_check_seconds=0.3, log_check_seconds=0.2)


async def publish(bus: BusSettings, events: Sequence[Event]) -> int:
    return await samples.publish_log(bus, events)


async def dead_letters(bus: BusSettings) -> list[dict[str, str]]:
    nc = await connect(bus, "test-dead-letters")
    try:
        js = nc.jetstream()
        info = await js.stream_info(bus.dead_letter_stream_name)
        return [dict((await js.get_msg(bus.dead_letter_stream_name, seq)).headers or {})
                for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages]
    finally:
        await nc.close()


async def replace_log(bus: BusSettings, events: Sequence[Event]) -> int:
    """Delete the event stream and publish `events` into a new one."""
    nc = await connect(bus, "test-admin")
    try:
        await nc.jetstream().delete_stream(bus.stream_name)
    finally:
        await nc.close()
    return await publish(bus, events) if events else 0


async def until(condition: Callable[[], bool], seconds: float = 15) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_the_position_carries_the_fingerprint_positions_computes(bus: BusSettings) -> None:
    last = await publish(bus, samples.sample_log(10))
    sink = MemorySink()
    totals = await asyncio.wait_for(reader(sink, bus).run(asyncio.Event(), stop_at=last), 15)
    assert (totals.position, sink.stored.position) == (last, last)
    nc = await connect(bus, "test-fingerprint")
    try:
        assert sink.stored.fingerprint == await fingerprint(nc.jetstream(), bus.stream_name, last)
    finally:
        await nc.close()


async def test_an_event_that_cannot_be_applied_is_retried_then_dead_lettered_and_skipped(bus: BusSettings) -> None:
    events = samples.sample_log(10)
    last = await publish(bus, events)
    bad = 7
    attempts: list[int] = []

    def fail(fresh: list[Delivered]) -> None:
        if any(d.seq == bad and d.skipped is None for d in fresh):
            attempts.append(bad)
            raise EventFailed(bad, "ReportTriaged not applicable: OverflowError('date value out of range')")

    sink = MemorySink(fail=fail)
    log_reader = reader(sink, bus)
    running = asyncio.create_task(log_reader.run(asyncio.Event(), stop_at=last))
    await until(lambda: log_reader.status().retrying is not None)
    retrying = log_reader.status().retrying
    assert retrying is not None and (retrying.seq, retrying.max_attempts) == (bad, 3)
    assert "OverflowError" in retrying.reason
    totals = await asyncio.wait_for(running, 15)

    assert len(attempts) == 3
    assert [d.seq for d in sink.skipped] == [bad]
    assert sink.skipped[0].skipped is not None and sink.skipped[0].skipped.startswith("not applied after 3 attempts")
    assert sink.skipped[0].event == events[bad - 1]  # kept: the sink records which event it lacks
    assert [d.seq for d in sink.applied] == [s for s in range(1, last + 1) if s != bad]
    assert (totals.position, totals.skipped, totals.dead_lettered) == (last, 1, 1)
    assert log_reader.status().retrying is None
    [letter] = await dead_letters(bus)
    assert letter["Desk-Source"] == f"{bus.stream_name}:{bad}"
    assert letter["Desk-Consumer"] == "test-reader"
    assert "not applied after 3 attempts" in letter["Desk-Dead-Letter-Reason"]


async def test_a_batch_failing_without_naming_an_event_is_halved_until_one_is_named(bus: BusSettings) -> None:
    last = await publish(bus, samples.sample_log(10))
    bad = 13

    def fail(fresh: list[Delivered]) -> None:
        if any(d.seq == bad and d.skipped is None for d in fresh):
            if len(fresh) > 1:
                raise RuntimeError("value too long for type character varying(100)")
            raise EventFailed(bad, "refused by the database")

    sink = MemorySink(fail=fail)
    totals = await asyncio.wait_for(reader(sink, bus).run(asyncio.Event(), stop_at=last), 15)
    assert totals.position == last
    assert [d.seq for d in sink.skipped] == [bad]
    assert [d.seq for d in sink.applied] == [s for s in range(1, last + 1) if s != bad]
    assert [bad] in sink.batches  # it came down to the event alone
    assert max(len(b) for b in sink.batches) > 1  # and the rest did not go one by one


async def test_a_sink_that_fails_as_a_whole_is_retried_until_it_works_and_nothing_is_skipped(bus: BusSettings) -> None:
    last = await publish(bus, samples.sample_log(6))
    outage = [6]

    def fail(_fresh: list[Delivered]) -> None:
        if outage[0]:
            outage[0] -= 1
            raise ConnectionError("database unreachable")

    sink = MemorySink(fail=fail)
    log_reader = reader(sink, bus, retry=RetryPolicy(max_attempts=2, first_delay_seconds=0.05, max_delay_seconds=0.1))
    running = asyncio.create_task(log_reader.run(asyncio.Event(), stop_at=last))
    await until(lambda: (r := log_reader.status().retrying) is not None and r.seq is None)
    retrying = log_reader.status().retrying
    assert retrying is not None and retrying.max_attempts is None and "unreachable" in retrying.reason
    totals = await asyncio.wait_for(running, 15)
    assert (totals.position, totals.skipped, totals.dead_lettered, len(sink.skipped)) == (last, 0, 0, 0)
    assert [d.seq for d in sink.applied] == list(range(1, last + 1))


async def test_a_replaced_log_halts_the_reader_until_it_matches_again(bus: BusSettings) -> None:
    first = samples.sample_log(10)
    last = await publish(bus, first)
    sink = MemorySink()
    await asyncio.wait_for(reader(sink, bus).run(asyncio.Event(), stop_at=last), 15)
    kept = sink.stored

    await replace_log(bus, first[:5])  # shorter: the log ends before the position
    stop = asyncio.Event()
    log_reader = reader(sink, bus)
    running = asyncio.create_task(log_reader.run(stop))
    await until(lambda: log_reader.status().halted is not None)
    halted = log_reader.status().halted
    assert halted is not None and f"ends at sequence 5, before this projection's position {last}" in halted
    assert "rebuild" in halted

    others = [e for n in range(100, 110) for e in samples.incident_story(n)]
    await publish(bus, others)  # long enough now, but another message at the position
    await until(lambda: "another message" in (log_reader.status().halted or ""))
    assert sink.stored == kept and len(sink.applied) == last  # nothing of the new log applied

    await replace_log(bus, first + others)  # the original log restored (and grown)
    await until(lambda: log_reader.status().halted is None and sink.stored.position == last + len(others))
    stop.set()
    await asyncio.wait_for(running, 5)
    assert [d.seq for d in sink.applied] == list(range(1, last + len(others) + 1))


async def test_a_position_without_fingerprint_is_taken_as_it_is(bus: BusSettings) -> None:
    """Recorded by a release before fingerprints: nothing to compare; the next batch records one."""
    last = await publish(bus, samples.sample_log(10))
    sink = MemorySink(stored=Checkpoint(10, None))
    totals = await asyncio.wait_for(reader(sink, bus).run(asyncio.Event(), stop_at=last), 15)
    assert totals.position == last and sink.applied[0].seq == 11
    assert sink.stored.fingerprint
