"""Reads the event log in stream order and hands decoded batches to a sink that keeps its
own position (a projection: rows and position in one database transaction).

The sink is the source of truth for the position, never the consumer: at start and after
any error the reader asks the sink for its position and creates a fresh ephemeral pull
consumer starting right after it (no acks, nothing kept on the server), so a lost consumer,
a NATS restart or a second instance never makes it skip or double an event.

- Which log: the sink keeps, with its position, a fingerprint of the message there. A log
  that no longer holds that message at that position (the stream deleted and recreated)
  is not the one the sink was built from: the reader stops applying and says so
  (`status().halted`) until the log matches again.
- Speed: one task pulls and decodes the next batch while the sink writes the previous one
  in a worker thread (the database releases the GIL while it works). Messages are collected
  by a subscription callback: nats-py's `fetch()` awaits each message with a timer and reads
  about 15,000 messages/s here, a callback 40,000-50,000.
- Failures: a message that cannot be decoded is dead-lettered and recorded by the sink as
  skipped. An event the sink cannot apply (`EventFailed`) is retried with back-off, then
  dead-lettered and skipped; a batch that fails without naming an event is split in halves
  until the event at fault is found; a failure of a single event that is not its fault (the
  database is down) is retried until it works. `status().retrying` says which, meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header

from desk_shared.contracts import subjects
from desk_shared.contracts.envelope import Event, UndecodableEvent, UnknownEventType, decode_event
from desk_shared.runtime.bus import connect
from desk_shared.runtime.dead_letters import DeadLetters
from desk_shared.runtime.positions import fingerprint, message_fingerprint
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

log = logging.getLogger(__name__)

T = TypeVar("T")
INACTIVE_THRESHOLD_SECONDS = 30.0
RETRY_SECONDS = 1.0
CONSUMER_CHECK_SECONDS = 5.0
LOG_CHECK_SECONDS = 10.0
"""While halted on a log that is not the sink's, how often to look again (a restored stream resumes)."""
HALT_REMINDER_SECONDS = 60.0
"""While halted, the error is logged again this often (not only once, long scrolled away)."""
PULL_GRACE_SECONDS = 2.0
"""How long past its expiry a pull request may stay unanswered before the consumer is checked."""
DECODE_SLICE = 256
"""Messages decoded between yields to the event loop (the API shares it)."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message of the log: its stream sequence and the event, or None when there is
    nothing to apply (a type this reader does not know, a poison message). `skipped` says
    why a message must not be applied but recorded as missing (undecodable, failed too often);
    `fingerprint` identifies the message (see `message_fingerprint`)."""

    seq: int
    event: Event | None
    subject: str = ""
    fingerprint: str = ""
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    position: int
    fingerprint: str | None
    """Of the message at `position`; None when not known (recorded by an older release)."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    position: int
    applied: int
    ignored: int
    skipped: int = 0


class PositionConflict(RuntimeError):
    """Another instance moved the sink's position first: the batch was not applied."""


class EventFailed(RuntimeError):
    """The sink cannot apply the event at `seq`, and it is the event's doing: nothing of the batch
    was applied. Retried a bounded number of times, then skipped."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class Sink(Protocol):
    """Where the reader's batches go. Synchronous: the reader runs it in a worker thread."""

    def checkpoint(self) -> Checkpoint: ...

    def apply_batch(self, expected: int, batch: Sequence[Delivered]) -> BatchResult:
        """Apply what lies beyond `expected` and move the position (and its fingerprint, that of the
        last message), all or nothing; record messages marked `skipped` as skipped."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    """Attempts at an event the sink cannot apply before it is dead-lettered and skipped."""
    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.first_delay_seconds * 2 ** max(attempt - 1, 0), self.max_delay_seconds)


@dataclass(frozen=True)
class Retrying:
    """What the reader is stuck on: one event (`seq`), or the sink itself (`seq` None: retried until it works)."""

    seq: int | None
    attempts: int
    max_attempts: int | None
    reason: str


@dataclass(frozen=True)
class ReaderStatus:
    retrying: Retrying | None = None
    halted: str | None = None
    """Why the reader stopped applying (the log is not the one the sink's position refers to)."""


@dataclass
class ReadTotals:
    position: int = 0
    applied: int = 0
    ignored: int = 0
    skipped: int = 0
    dead_lettered: int = 0


class LogReplaced(RuntimeError):
    """The log does not hold, at the sink's position, the message the sink recorded there."""


@dataclass
class _Batch:
    msgs: list[Msg]
    delivered: list[Delivered]


_END = object()


class LogReader:
    """`dead_letter=False` (rebuilds) only logs poison messages: the live reader kept them."""

    def __init__(self, sink: Sink, bus: BusSettings, *, name: str, batch_size: int = 500,
                 fetch_timeout_seconds: float = 0.2, dead_letter: bool = True, client_name: str | None = None,
                 consumer_check_seconds: float = CONSUMER_CHECK_SECONDS, retry: RetryPolicy | None = None,
                 prefetch_batches: int = 2, log_check_seconds: float = LOG_CHECK_SECONDS) -> None:
        self._sink = sink
        self._name = name
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout_seconds
        self._bus = bus
        self._dead_letter = dead_letter
        self._client_name = client_name or f"desk-{name}"
        self._consumer_check_seconds = consumer_check_seconds
        self._log_check_seconds = log_check_seconds
        self._retry = retry or RetryPolicy()
        self._prefetch = max(prefetch_batches, 1)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._dead_letters: DeadLetters | None = None
        self._consumer_name: str | None = None
        self._unknown_types: set[str] = set()
        self._attempts: dict[int, int] = {}
        self._status = ReaderStatus()
        self._halt_said_at = 0.0
        self.totals = ReadTotals()

    def status(self) -> ReaderStatus:
        return self._status

    async def run(self, stop: asyncio.Event, stop_at: int | None = None) -> ReadTotals:
        """Project until `stop` is set, or until the position reaches `stop_at` (a stream sequence)."""
        try:
            while not stop.is_set():
                puller: _Puller | None = None
                pause = 0.0
                try:
                    js = await self._jetstream(stop)
                    if js is None:
                        break
                    checkpoint = await asyncio.to_thread(self._sink.checkpoint)
                    self.totals.position = checkpoint.position
                    if stop_at is not None and checkpoint.position >= stop_at:
                        break
                    await self._check_log(js, checkpoint)
                    puller = await self._subscribe(js, checkpoint.position)
                    await self._consume(puller, checkpoint.position, stop, stop_at)
                    break
                except PositionConflict as exc:
                    log.warning("%s: position conflict (another replica applied this batch first), rolled back: %s; "
                                "continuing from the stored position", self._name, exc)
                except LogReplaced as exc:
                    pause = self._log_check_seconds
                    self._halt(str(exc))
                except Exception as exc:
                    log.error("%s interrupted: %r; resuming from the stored position in %.0f s", self._name, exc,
                              RETRY_SECONDS, exc_info=not isinstance(exc, NatsError | TimeoutError | OSError))
                    pause = RETRY_SECONDS
                finally:
                    await self._drop(puller)
                if pause:
                    await sleep_unless(stop, pause)
        finally:
            await self._close()
        return self.totals

    async def stream_last_sequence(self) -> int | None:
        """The log's last sequence, or None while NATS cannot be asked (for /health)."""
        js = self._js
        if js is None:
            return None
        try:
            info = await asyncio.wait_for(js.stream_info(self._bus.stream_name), 1.0)
        except Exception as exc:
            log.debug("stream info unavailable: %r", exc)
            return None
        return int(info.state.last_seq)

    # ------------------------------------------------------------------ connection, log, consumer
    async def _jetstream(self, stop: asyncio.Event) -> JetStreamContext | None:
        if self._nc is None or self._nc.is_closed:
            nc = await _unless_stopped(connect(self._bus, self._client_name), stop)
            if nc is None:
                return None
            self._nc = nc
            self._js = nc.jetstream()
            self._dead_letters = DeadLetters(EventPublisher(self._js, self._bus), self._bus, self._name)
            log.info("connected to NATS at %s", ", ".join(self._bus.servers))
        assert self._js is not None
        await ensure_streams(self._js, self._bus)
        return self._js

    async def _check_log(self, js: JetStreamContext, checkpoint: Checkpoint) -> None:
        """Raise LogReplaced unless the log holds, at the sink's position, the message the sink recorded."""
        position, stream = checkpoint.position, self._bus.stream_name
        if position > 0:
            last = int((await js.stream_info(stream)).state.last_seq)
            if last < position:
                raise LogReplaced(f"the log {stream} ends at sequence {last}, before this projection's position "
                                  f"{position}")
            if checkpoint.fingerprint:
                found = await fingerprint(js, stream, position)
                if found != checkpoint.fingerprint:
                    raise LogReplaced(f"the log {stream} holds {'another message' if found else 'no message'} at "
                                      f"this projection's position {position}")
            else:
                log.info("%s: position %d has no fingerprint yet (recorded by an older release): it is recorded with "
                         "the next batch", self._name, position)
        if self._status.halted:
            log.warning("%s: the log matches the stored position again: resuming", self._name)
            self._status = replace(self._status, halted=None)

    def _halt(self, found: str) -> None:
        reason = (f"{found}: it is not the log these read models were projected from (was the stream deleted and "
                  "recreated?). Nothing more is applied. Rebuild the read models from this log into an empty "
                  "database (desk-projection rebuild --database-url URL) and point the projection at it.")
        if self._status.halted != reason or time.monotonic() - self._halt_said_at > HALT_REMINDER_SECONDS:
            log.error("%s STOPPED: %s", self._name, reason)
            self._halt_said_at = time.monotonic()
        self._status = replace(self._status, halted=reason, retrying=None)

    async def _subscribe(self, js: JetStreamContext, position: int) -> _Puller:
        name = f"{self._name}-{uuid.uuid4().hex[:16]}"
        config = ConsumerConfig(
            name=name,
            description=f"Desk Pemilu {self._name} (ephemeral; its position is kept by the reader's sink)",
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=position + 1,
            ack_policy=AckPolicy.NONE,
            filter_subject=subjects.ALL_EVENTS,
            inactive_threshold=INACTIVE_THRESHOLD_SECONDS,
            mem_storage=True,
        )
        await js.add_consumer(self._bus.stream_name, config)
        self._consumer_name = name
        assert self._nc is not None
        puller = _Puller(self._nc, self._bus.stream_name, name)
        await puller.start()
        log.info("reading %s from sequence %d", self._bus.stream_name, position + 1)
        return puller

    async def _verify_consumer(self) -> None:
        """An idle pull looks the same whether the log is quiet or the consumer is gone (a NATS
        restart loses an in-memory consumer): ask, and let a NotFoundError recreate it."""
        if self._js is not None and self._consumer_name:
            await self._js.consumer_info(self._bus.stream_name, self._consumer_name, timeout=2.0)

    # ------------------------------------------------------------------ the pipeline
    async def _consume(self, puller: _Puller, position: int, stop: asyncio.Event, stop_at: int | None) -> None:
        """Pull and decode in one task, apply in order in this one: the next batch is on its way
        while the sink writes the current one."""
        queue: asyncio.Queue[Any] = asyncio.Queue(self._prefetch)
        halt = asyncio.Event()
        fetching = asyncio.create_task(self._fetch(puller, position, queue, stop_at, halt),
                                       name=f"{self._name}-fetch")
        try:
            while not stop.is_set():
                item = await _unless_stopped(queue.get(), stop)
                if item is None or item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                applied = await self._apply(item, position, stop, stop_at)
                if applied is None:  # stopped while waiting to retry
                    return
                position = applied
        finally:
            # Told, not only cancelled: Python 3.11's wait_for can swallow a cancellation that
            # arrives as its future completes, and the fetcher would then wait on a full queue.
            halt.set()
            fetching.cancel()
            await asyncio.wait({fetching}, timeout=5)

    async def _fetch(self, puller: _Puller, position: int, queue: asyncio.Queue[Any], stop_at: int | None,
                     halt: asyncio.Event) -> None:
        """Batches in log order into `queue`; _END after `stop_at`; an exception ends it (passed on in order)."""

        async def put(item: object) -> None:
            await _unless_stopped(queue.put(item), halt)

        try:
            next_seq, busy, checked = position + 1, False, time.monotonic()
            while not halt.is_set() and (stop_at is None or next_seq <= stop_at):
                want = self._batch_size if stop_at is None else min(self._batch_size, stop_at - next_seq + 1)
                msgs = await puller.pull(want, self._fetch_timeout)
                if not msgs:
                    if busy:
                        log.info("caught up at sequence %d", next_seq - 1)
                        busy = False
                    if puller.unanswered or time.monotonic() - checked > self._consumer_check_seconds:
                        await self._verify_consumer()
                        checked = time.monotonic()
                    continue
                delivered: list[Delivered] = []
                for start in range(0, len(msgs), DECODE_SLICE):
                    delivered += [self._decode(msg) for msg in msgs[start:start + DECODE_SLICE]]
                    await asyncio.sleep(0)
                next_seq, busy = delivered[-1].seq + 1, True
                await put(_Batch(msgs, delivered))
            await put(_END)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await put(exc)

    def _decode(self, msg: Msg) -> Delivered:
        seq = msg.metadata.sequence.stream
        mark = message_fingerprint(msg.subject, msg.data)
        try:
            return Delivered(seq, decode_event(msg.data), msg.subject, mark)
        except UnknownEventType as exc:
            if str(exc) not in self._unknown_types:
                self._unknown_types.add(str(exc))
                log.info("skipping events of unknown type %s (first at seq %d)", exc, seq)
            return Delivered(seq, None, msg.subject, mark)
        except UndecodableEvent as exc:
            return Delivered(seq, None, msg.subject, mark, skipped=f"undecodable: {exc}")

    async def _apply(self, batch: _Batch, position: int, stop: asyncio.Event, stop_at: int | None) -> int | None:
        """Apply `batch` beyond `position`, retrying as the module says; the new position, or None if stopped."""
        pending = [[d for d in batch.delivered if d.seq > position and (stop_at is None or d.seq <= stop_at)]]
        msgs = {m.metadata.sequence.stream: m for m in batch.msgs}
        for delivered in pending[0]:
            if delivered.skipped is not None:
                await self._give_up(msgs[delivered.seq], delivered.skipped)
        failures = 0  # in a row, not the event's fault
        while pending:
            chunk = pending[0]
            try:
                result = await asyncio.to_thread(self._sink.apply_batch, position, chunk)
            except PositionConflict:
                raise
            except EventFailed as failed:
                if failed.seq not in msgs or all(d.seq != failed.seq for d in chunk):
                    raise RuntimeError(f"the sink named an event not in the batch: {failed}") from failed
                attempt = self._attempts[failed.seq] = self._attempts.get(failed.seq, 0) + 1
                if attempt >= self._retry.max_attempts:
                    reason = f"not applied after {attempt} attempts: {failed.reason}"
                    await self._give_up(msgs[failed.seq], reason)
                    pending[0] = [replace(d, skipped=reason) if d.seq == failed.seq else d for d in chunk]
                    continue
                if not await self._wait_to_retry(stop, Retrying(failed.seq, attempt, self._retry.max_attempts,
                                                                failed.reason), self._retry.delay(attempt)):
                    return None
                continue
            except Exception as exc:
                fresh = [d for d in chunk if d.seq > position]
                if len(fresh) > 1:  # which event? try each half on its own
                    middle = len(fresh) // 2
                    pending[0:1] = [fresh[:middle], fresh[middle:]]
                    log.warning("%s: a batch of %d events failed (%r); applying it in halves to find the event at "
                                "fault", self._name, len(fresh), exc)
                    continue
                failures += 1
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
                if not await self._wait_to_retry(stop, Retrying(None, failures, None, reason),
                                                 self._retry.delay(failures)):
                    return None
                continue
            pending.pop(0)
            failures = 0
            position = result.position
            self._count(result)
        if self._status.retrying is not None:
            log.info("%s: applying again, at sequence %d", self._name, position)
            self._status = replace(self._status, retrying=None)
        for seq in [s for s in self._attempts if s <= position]:
            del self._attempts[seq]
        return position

    def _count(self, result: BatchResult) -> None:
        self.totals.position = result.position
        self.totals.applied += result.applied
        self.totals.ignored += result.ignored
        self.totals.skipped += result.skipped

    async def _wait_to_retry(self, stop: asyncio.Event, retrying: Retrying, delay: float) -> bool:
        """Say what is retried, wait `delay`; False if stopped meanwhile."""
        self._status = replace(self._status, retrying=retrying)
        what = f"seq {retrying.seq}" if retrying.seq is not None else "a batch"
        limit = f" of {retrying.max_attempts}" if retrying.max_attempts else ""
        log.warning("%s: attempt %d%s at %s failed: %s; retrying in %.1f s", self._name, retrying.attempts, limit,
                    what, retrying.reason, delay)
        await sleep_unless(stop, delay)
        return not stop.is_set()

    async def _give_up(self, msg: Msg, reason: str) -> None:
        if self._dead_letter and self._dead_letters is not None:
            await self._dead_letters.put(msg, reason)
            self.totals.dead_lettered += 1
        else:
            log.warning("skipping the message at seq %d: %s", msg.metadata.sequence.stream, reason)

    async def _drop(self, puller: _Puller | None) -> None:
        if puller is None:
            return
        await puller.stop()
        name, self._consumer_name = self._consumer_name, None
        if self._js is not None and name:  # the server would remove it after the inactive threshold anyway
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._js.delete_consumer(self._bus.stream_name, name), 1.0)

    async def _close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 2.0)


class ReadGap(RuntimeError):
    """Messages of the consumer went missing on the way: resume from the stored position."""


class _Puller:
    """Pull requests on an ephemeral consumer, answered into a subscription callback.

    Each request asks for up to `batch` messages with `no_wait` and an expiry: the server
    waits for the first message (at most until the expiry), sends what is there and ends the
    request with a status (404, or 408 at expiry). Statuses carry the request's token in their
    subject, so the end of an earlier, abandoned request is not taken for the current one's."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._sub: Any = None
        self._received: list[Msg] = []
        self._token = 0
        self._want = 0
        self._ended = asyncio.Event()
        self._failure: str | None = None
        self._consumer_seq = 0
        self.unanswered = False
        """The last request got no answer in time: the consumer may be gone."""

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_message)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def pull(self, batch: int, expires: float) -> list[Msg]:
        """The next messages (at most about `batch`), or [] when none came before the expiry."""
        self._token += 1
        self._want, self._failure = batch, None
        self._ended = asyncio.Event()
        if len(self._received) < batch:
            request = {"batch": batch - len(self._received), "expires": int(expires * 1e9), "no_wait": True}
            await self._nc.publish(self._api, json.dumps(request).encode(), reply=f"{self._inbox}.{self._token}")
            try:
                async with asyncio.timeout(expires + PULL_GRACE_SECONDS):
                    await self._ended.wait()
                self.unanswered = False
            except TimeoutError:
                self.unanswered = True
        if self._failure is not None:
            raise NatsError(f"pull request refused: {self._failure}")
        msgs, self._received = self._received, []
        for msg in msgs:
            self._consumer_seq += 1
            if msg.metadata.sequence.consumer != self._consumer_seq:
                raise ReadGap(f"expected delivery {self._consumer_seq}, got {msg.metadata.sequence.consumer}")
        return msgs

    async def _on_message(self, msg: Msg) -> None:
        status = msg.headers.get(Header.STATUS) if msg.headers else None
        if status is None:
            self._received.append(msg)
            if len(self._received) >= self._want:
                self._ended.set()
            return
        if status == "100" or msg.subject.rsplit(".", 1)[-1] != str(self._token):
            return  # a heartbeat, or the end of an abandoned request
        if status not in ("404", "408"):
            self._failure = f"{status} {msg.headers.get(Header.DESCRIPTION, '') if msg.headers else ''}".strip()
        self._ended.set()


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """Await `work` unless `stop` is set first (then cancel it and return None)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None
