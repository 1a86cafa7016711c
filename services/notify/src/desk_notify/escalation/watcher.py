"""Every notify replica's copy of the running chains, folded from the log, and the keeper of their
deadlines: each tick, whatever a deadline made due is appended with its alerts.

Nothing about a chain lives only in a process: a restarted or added replica folds the recent log
and knows every deadline at once (a kill -9 loses no step). Replicas deriving the same step
append the same ids; JetStream keeps one. A step's alerts are appended before the step itself:
a crash in between leaves the step due, and the next tick appends the same alerts again (dropped
as duplicates) and then the step."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext

from desk_notify.escalation.chains import Chains, acknowledge, evolve, relevant
from desk_notify.escalation.chains import due as due_events
from desk_notify.escalation.floods import FloodRules, digests, hold
from desk_notify.fanout import ChainEvent, chain_alerts
from desk_notify.message import digest_text
from desk_shared.contracts import subjects
from desk_shared.contracts.envelope import Actor, Event
from desk_shared.contracts.escalation import (
    AckChannel,
    AlertAcknowledged,
    AlertAcknowledgedPayload,
    EscalationStarted,
)
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.runtime.history import Follower
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


class Escalations:
    def __init__(self, js: JetStreamContext, bus: BusSettings, directory: RegionDirectory, producer: str,
                 horizon: timedelta, floods: FloodRules | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._directory, self._producer, self._clock = directory, producer, clock
        self._floods = floods or FloodRules()
        self._follower = Follower(js, bus.stream_name, subjects.ALL_EVENTS, Chains(), evolve,
                                  since=clock() - horizon, relevant=relevant)

    @property
    def chains(self) -> Chains:
        return self._follower.state

    async def start(self) -> None:
        await self._follower.start()
        log.info("escalations: %d chain(s) running", len(self.chains.by_incident))

    async def stop(self) -> None:
        await self._follower.stop()

    def with_alerts(self, event: ChainEvent) -> list[Event]:
        """A chain's event preceded by its alerts, some held to go out in a digest (the order they
        must be appended in)."""
        chain = self.chains.by_incident.get(event.payload.incident_id)
        if chain is not None and chain.chain_id == event.payload.chain_id:
            started = chain.started  # as stored (a redelivered escalation may meet another policy or level now)
        else:
            assert isinstance(event, EscalationStarted), "a chain's later events come from the chain"
            started = event.payload
        alerts = chain_alerts(event, started, self._directory, self._producer)
        return [*hold(self.chains.loads, alerts, self._floods), event]

    async def acknowledge(self, publisher: EventPublisher, incident_id: uuid.UUID, liaison_id: str, via: AckChannel,
                          actor: Actor, person_id: str | None = None,
                          chain_id: uuid.UUID | None = None) -> tuple[AlertAcknowledgedPayload, bool]:
        """Record an acknowledgement; the chain's acknowledgement and whether this one was the first.
        Raises `NoChain` when the incident has no chain running (never escalated, or closed)."""
        found = acknowledge(self.chains, incident_id, liaison_id, via, actor, self._producer, self._clock(),
                            person_id, chain_id)
        if not isinstance(found, AlertAcknowledged):
            return found, False
        acked = await publisher.publish(found)
        if acked.duplicate:  # another replica recorded one first: that one counts
            await asyncio.wait_for(self._follower.reached(acked.seq), 5)
            chain = self.chains.by_incident.get(incident_id)
            return (chain.acknowledged if chain and chain.acknowledged else found.payload), False
        self._follower.fold_own([(found, acked.seq)])
        log.info("escalation of incident %s acknowledged by %s via %s", incident_id, liaison_id, via)
        return found.payload, True

    async def run(self, publisher: EventPublisher, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.fire_due(publisher)
            await sleep_unless(stop, TICK_SECONDS)

    async def fire_due(self, publisher: EventPublisher) -> int:
        """Append what is due now (steps, reminders, digests of held alerts); how many events that took."""
        now = self._clock()
        fired = 0
        for digest in digests(self.chains.loads, now, self._producer,
                              lambda held: digest_text(held, self._directory)):
            try:
                acked = await publisher.publish(digest)
            except PublishFailed as exc:
                log.warning("digest for %s not appended yet: %s", digest.payload.liaison.id, exc)
                continue
            self._follower.fold_own([(digest, acked.seq)])
            fired += 1
        for event in due_events(self.chains, now, self._producer):
            try:
                *alerts, _ = self.with_alerts(event)
                await publisher.publish_all(alerts)
                acked = await publisher.publish(event)  # only once its alerts are stored
                self._follower.fold_own([(event, acked.seq)])
            except PublishFailed as exc:  # the next tick tries again, with the same ids
                log.warning("escalation of incident %s: %s not appended yet: %s", event.payload.incident_id,
                            event.event_type, exc)
                continue
            fired += 1
            log.info("escalation of incident %s: %s", event.payload.incident_id, event.event_type)
        return fired
