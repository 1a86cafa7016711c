"""Every triage replica's copy of the incidents, folded from the log, and the one way to change
them: decide against a kecamatan's state as last read, then append the decision atomically on
condition that nothing else was appended about that kecamatan since (JetStream's expected last
subject sequence over the kecamatan's subjects, in an atomic batch). A replica that lost the
race reads again and decides again, so replicas never make two incidents of one happening, and
a decision is never half stored."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nats.js import JetStreamContext

from desk_shared.contracts.envelope import Event
from desk_shared.contracts.incidents import KeyedEvent, area_filter
from desk_shared.runtime.history import Follower
from desk_shared.runtime.publisher import AppendConflict, EventPublisher, Expected, PublishFailed
from desk_shared.runtime.settings import BusSettings
from desk_triage.incidents.state import Area, Book, evolve, fold

log = logging.getLogger(__name__)

KEYED_EVENTS = "desk.event.*.*.*.*.*.*"
"""Every keyed event: a type's two words, the kecamatan's three parts and a key."""
MIN_SERVER = (2, 12)
"""Atomic batches with an expected sequence over a wildcard subject need nats-server 2.12 or later."""


class UnsupportedServer(RuntimeError):
    pass


def check_server(major: int, minor: int) -> None:
    """Refuse to run against a nats-server that cannot append on condition (it would ignore the
    condition and let two replicas decide at once)."""
    if (major, minor) < MIN_SERVER:
        raise UnsupportedServer(f"nats-server {major}.{minor} cannot append on condition (atomic batches need "
                                f"{'.'.join(map(str, MIN_SERVER))} or later); upgrade the NATS servers")


class StaleRead(RuntimeError):
    """The log kept moving while a decision was retried; the caller retries later."""


MAX_GROUP = 64
"""Decisions appended in one batch at most (an atomic batch holds up to 1,000 events)."""


@dataclass(frozen=True)
class _Request:
    decide: Callable[[Area], Sequence[KeyedEvent]]
    done: asyncio.Future[tuple[list[KeyedEvent], Area]]


def _fail(request: _Request, exc: BaseException) -> None:
    if not request.done.done():
        request.done.set_exception(exc)


class IncidentBook:
    def __init__(self, js: JetStreamContext, bus: BusSettings, attempts: int = 20, catch_up_seconds: float = 10.0,
                 retry_pause: float = 0.05, unacknowledged_pause: float = 0.5):
        self._attempts = attempts
        self._retry_pause = retry_pause
        self._unacknowledged_pause = unacknowledged_pause
        """After an append that got no acknowledgement (it may be stored): decided again only after this pause, when
        the book has likely read it, so a decision whose events are stored is not taken again against a later state."""
        self._catch_up = catch_up_seconds
        self._follower: Follower[Book] = Follower.sequenced(js, bus.stream_name, KEYED_EVENTS, Book(), self._fold)
        self._queues: dict[str, list[_Request]] = {}
        self._leading: set[str] = set()
        self._stored: set[uuid.UUID] = set()
        """Ids of the events folded in: a decision whose events are all stored is done (a retried command)."""

    def _fold(self, book: Book, event: Event, seq: int) -> Book:
        self._stored.add(event.event_id)
        return fold(book, event, seq)

    @property
    def book(self) -> Book:
        return self._follower.state

    async def start(self) -> None:
        await self._follower.start()
        book = self.book
        log.info("incident book: %d kecamatan(s), %d incident(s)", len(book.areas),
                 sum(len(a.incidents) for a in book.areas.values()))

    async def stop(self) -> None:
        await self._follower.stop()

    async def append(self, publisher: EventPublisher, kecamatan_code: str,
                     decide: Callable[[Area], Sequence[KeyedEvent]]) -> tuple[list[KeyedEvent], Area]:
        """Decide against the kecamatan's state and append the events on condition; on a conflict,
        wait for the book to catch up and decide again. Returns the events appended (or, if all
        were stored before, those decided) and the area as they leave it.

        Group commit: while one append for a kecamatan is on its way, the decisions asked for it
        meanwhile wait, and are then decided one after the other and appended as one batch."""
        request = _Request(decide, asyncio.get_running_loop().create_future())
        queue = self._queues.setdefault(kecamatan_code, [])
        queue.append(request)
        if kecamatan_code not in self._leading:
            self._leading.add(kecamatan_code)
            try:
                while queue:
                    batch = queue[:MAX_GROUP]
                    del queue[:len(batch)]
                    await self._commit(publisher, kecamatan_code, batch)
            finally:
                self._leading.discard(kecamatan_code)
                for left in queue:  # the leader was cancelled (stopping): the others try again later
                    _fail(left, StaleRead(f"kecamatan {kecamatan_code}: stopped before this decision was appended"))
                queue.clear()
        return await request.done

    async def _commit(self, publisher: EventPublisher, kecamatan_code: str, batch: list[_Request]) -> None:
        unacknowledged: Exception | None = None
        for _ in range(self._attempts):
            area = self.book.area(kecamatan_code)
            working, appending, decided = area, [], []
            for request in batch:
                if request.done.done():
                    continue
                try:
                    events = list(request.decide(working))
                except Exception as exc:  # this decision is refused; the others go on
                    _fail(request, exc)
                    continue
                fresh = [e for e in events if e.event_id not in self._stored]
                for event in fresh:
                    working = evolve(working, event)
                appending += fresh
                decided.append((request, fresh or events))
            if appending:
                try:
                    ack = await publisher.append_atomic(appending, Expected(area.last_seq,
                                                                            area_filter(kecamatan_code)))
                except AppendConflict as exc:
                    log.info("kecamatan %s moved on while deciding (%s); reading again", kecamatan_code, exc)
                    if exc.last_seq is not None:
                        await self._wait_past(exc.last_seq)
                    else:  # some of these events are stored already: give the book time to fold them
                        await asyncio.sleep(self._retry_pause)
                    continue
                except (PublishFailed, TimeoutError) as exc:  # stored or not: read again, then decide again
                    log.warning("kecamatan %s: append not acknowledged (%s); reading again", kecamatan_code, exc)
                    unacknowledged = exc
                    await asyncio.sleep(self._unacknowledged_pause)
                    continue
                first = ack.seq - len(appending) + 1  # an atomic batch is stored in one run of sequences
                self._follower.fold_own([(event, first + n) for n, event in enumerate(appending)])
            after = self.book.area(kecamatan_code)
            for request, events in decided:
                if not request.done.done():
                    request.done.set_result((events, after))
            return
        for request in batch:
            _fail(request, unacknowledged or StaleRead(f"kecamatan {kecamatan_code}: no decision could be appended in "
                                                       f"{self._attempts} attempts"))

    async def _wait_past(self, seq: int) -> None:
        async with asyncio.timeout(self._catch_up):
            await self._follower.reached(seq)

