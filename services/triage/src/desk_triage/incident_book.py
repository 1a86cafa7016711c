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

from nats.js import JetStreamContext

from desk_shared.contracts.envelope import Event
from desk_shared.contracts.incidents import KeyedEvent, area_filter
from desk_shared.runtime.history import Follower
from desk_shared.runtime.publisher import AppendConflict, EventPublisher, Expected, PublishFailed
from desk_shared.runtime.settings import BusSettings
from desk_triage.incidents.state import Area, Book, fold

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


class IncidentBook:
    def __init__(self, js: JetStreamContext, bus: BusSettings, attempts: int = 20, catch_up_seconds: float = 10.0,
                 retry_pause: float = 0.05):
        self._js, self._bus = js, bus
        self._attempts = attempts
        self._retry_pause = retry_pause
        self._catch_up = catch_up_seconds
        self._follower: Follower[Book] = Follower.sequenced(js, bus.stream_name, KEYED_EVENTS, Book(), self._fold)
        self._locks: dict[str, asyncio.Lock] = {}
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
        wait for the book to catch up and decide again. Returns the events appended (none if the
        decision was that nothing changes) and the area as they leave it."""
        lock = self._locks.setdefault(kecamatan_code, asyncio.Lock())
        async with lock:  # one decision per kecamatan at a time in this process: conflicts are with others
            for _ in range(self._attempts):
                area = self.book.area(kecamatan_code)
                decided = list(decide(area))
                events = [e for e in decided if e.event_id not in self._stored]
                if not events:
                    return decided, area
                try:
                    ack = await publisher.append_atomic(events, Expected(area.last_seq, area_filter(kecamatan_code)))
                except AppendConflict as exc:
                    log.info("kecamatan %s moved on while deciding (%s); reading again", kecamatan_code, exc)
                    if exc.last_seq is not None:
                        await self._wait_past(exc.last_seq)
                    else:  # some of these events are stored already: give the book time to fold them
                        await asyncio.sleep(self._retry_pause)
                    continue
                except PublishFailed:
                    raise
                first = ack.seq - len(events) + 1  # an atomic batch is stored in one run of sequences
                self._follower.fold_own([(event, first + n) for n, event in enumerate(events)])
                return events, self.book.area(kecamatan_code)
        raise StaleRead(f"kecamatan {kecamatan_code}: no decision could be appended in {self._attempts} attempts")

    async def _wait_past(self, seq: int) -> None:
        async with asyncio.timeout(self._catch_up):
            await self._follower.reached(seq)

