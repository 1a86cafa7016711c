"""What the passing of time makes due, kept by every triage replica: agencies' missed deadlines
(the desk is reminded) and alert levels that decayed. Each replica looks every tick; whichever
appends first wins (the append is conditional, so the others find nothing left to do)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from desk_shared.contracts.envelope import Actor, derived_id
from desk_shared.contracts.incidents import KeyedEvent
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_triage.incident_book import IncidentBook, StaleRead
from desk_triage.incidents.decide import Desk, at_time
from desk_triage.incidents.levels import next_fall
from desk_triage.incidents.state import Area, Book

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


def due_areas(book: Book, now: datetime, desk: Desk) -> list[str]:
    """The kecamatan where a deadline passed or the level decayed by `now`."""
    due = []
    for code, area in sorted(book.areas.items()):
        if _deadline_passed(area, now) or ((fall := next_fall(area, now, desk.levels)) is not None and fall <= now):
            due.append(code)
    return due


def _deadline_passed(area: Area, now: datetime) -> bool:
    return any(due <= now for incident in area.open_incidents() for a in incident.assignments.values()
               for _, due in a.pending_deadlines())


class Timekeeper:
    def __init__(self, book: IncidentBook, publisher: EventPublisher, desk: Desk,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._book, self._publisher, self._desk, self._clock = book, publisher, desk, clock

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            await sleep_unless(stop, TICK_SECONDS)

    async def tick(self) -> int:
        """Append what is due now; the number of events appended."""
        now = self._clock()
        appended = 0
        actor = Actor.service(self._desk.producer)

        def due(area: Area) -> list[KeyedEvent]:
            cause = derived_id(f"{area.kecamatan_code}:{area.last_seq}", "time")
            return at_time(area, now, self._desk, (cause, actor))

        for code in due_areas(self._book.book, now, self._desk):
            try:
                events, _ = await self._book.append(self._publisher, code, due)
            except (PublishFailed, StaleRead, TimeoutError) as exc:  # the next tick tries again
                log.warning("kecamatan %s: what is due was not appended yet: %s", code, exc)
                continue
            appended += len(events)
        return appended
