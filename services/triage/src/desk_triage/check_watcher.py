"""The 'cek segera' deadlines, kept by every triage replica: each folds the recent log into the
pending checks (so a restarted or added replica knows them at once) and escalates those whose
deadline passed without an officer's answer. Replicas firing the same check publish the same
event id: JetStream keeps one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.js import JetStreamContext

from desk_shared.contracts import subjects
from desk_shared.contracts.events import Liaison
from desk_shared.runtime.history import Follower
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_shared.runtime.settings import BusSettings
from desk_triage.urgent_checks import HORIZON, Checks, escalation, evolve, relevant

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


class CheckWatcher:
    def __init__(self, js: JetStreamContext, bus: BusSettings, liaisons: Callable[[str], tuple[Liaison, ...]],
                 producer: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._js, self._bus = js, bus
        self._liaisons = liaisons
        self._producer = producer
        self._clock = clock
        self._follower: Follower[Checks] | None = None

    @property
    def checks(self) -> Checks:
        return self._follower.state if self._follower else Checks()

    async def start(self) -> None:
        self._follower = Follower(self._js, self._bus.stream_name, subjects.ALL_EVENTS, Checks(), evolve,
                                  since=self._clock() - HORIZON, relevant=relevant)
        await self._follower.start()
        log.info("cek segera: %d check(s) pending", len(self.checks.pending))

    async def run(self, stop: asyncio.Event) -> None:
        """Escalate every check past its deadline, once a tick, until `stop`."""
        publisher = EventPublisher(self._js, self._bus)
        try:
            while not stop.is_set():
                await self.fire_due(publisher)
                await sleep_unless(stop, TICK_SECONDS)
        finally:
            publisher.close()

    async def fire_due(self, publisher: EventPublisher) -> int:
        now = self._clock()
        fired = 0
        for check in self.checks.due(now):
            p = check.triaged.payload
            event = escalation(check, self._liaisons(p.kecamatan_code), self._producer, "urgent_check_expired")
            try:
                await publisher.publish(event)
            except PublishFailed as exc:  # the next tick tries again, with the same id
                log.warning("cek segera of incident %s not escalated yet: %s", p.incident_id, exc)
                continue
            fired += 1
            log.info("cek segera of incident %s unanswered by %s: escalated", p.incident_id, check.due.isoformat())
        return fired

    async def stop(self) -> None:
        if self._follower is not None:
            await self._follower.stop()
