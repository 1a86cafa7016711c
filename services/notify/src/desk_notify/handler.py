"""Notify's handlers: an escalation fans out into alerts; each alert is delivered on its own.

A delivery that fails for a reason that may pass (no answer, a server error, a rate limit)
raises `DeliveryPending`: the runtime retries it with back-off, independently of every
other alert, until `max_attempts`; only then, or for a final refusal, is AlertFailed
recorded. A stopping system never records AlertFailed: the alert is simply retried later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desk_notify.channels.dispatch import Channels, Outgoing
from desk_notify.contact_list import ContactList
from desk_notify.escalation.chains import start
from desk_notify.escalation.links import AckLinks
from desk_notify.escalation.policy import Policy
from desk_notify.escalation.watcher import Escalations
from desk_notify.fanout import level_alert_requests, overdue_alert_requests, undelivered_alerts
from desk_notify.message import alert_body
from desk_notify.outcomes import delivered, failed
from desk_shared.contracts.events import AlertRequested, AlertRequestedPayload, Event, IncidentEscalated, Liaison
from desk_shared.contracts.incidents import AreaAlertLevelChanged, IncidentAssignmentOverdue
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.runtime.consumer import Delivery, RetryLater

log = logging.getLogger(__name__)


class DeliveryPending(RetryLater):
    """This attempt failed in a way that may pass: try again later."""


@dataclass(frozen=True)
class FanOut:
    """An escalation starts its chain (its first step's alerts with it); a rise of a kecamatan's
    level and a missed deadline are one alert per liaison."""

    directory: RegionDirectory
    escalations: Escalations
    policy: Policy
    producer: str

    async def __call__(self, event: IncidentEscalated | AreaAlertLevelChanged | IncidentAssignmentOverdue,
                       delivery: Delivery) -> list[Event]:
        if isinstance(event, AreaAlertLevelChanged):
            return list(level_alert_requests(event, self.directory, self.producer))
        if isinstance(event, IncidentAssignmentOverdue):
            return list(overdue_alert_requests(event, self.directory, self.producer))
        chains = self.escalations.chains
        if event.payload.incident_id in chains.closed:
            log.info("incident %s was closed before its escalation was read: no chain", event.payload.incident_id)
            return []
        started = start(event, self.policy, chains.level(event.payload.kecamatan_code), self.producer)
        return self.escalations.with_alerts(started)


@dataclass(frozen=True)
class Deliver:
    """An alert goes to the contact serving its liaison position, on the contact's channels in
    order until one delivers; all of them failing in a way that may pass is retried later."""

    channels: Channels
    contacts: ContactList
    producer: str
    max_attempts: int
    desk: Callable[[str], tuple[Liaison, ...]]
    """Who is told when an alert about a kecamatan cannot be delivered."""
    links: AckLinks | None = None
    """Alerts of a chain carry an acknowledgement link when links are configured."""

    async def __call__(self, event: AlertRequested, delivery: Delivery) -> list[Event]:
        alert = event.payload
        contact = self.contacts.directory.find(alert.liaison.id)
        if contact is None:
            log.error("alert %s for incident %s: no contact serves %s", alert.alert_id, alert.incident_id,
                      alert.liaison.id)
            return self._failed(event, 0, f"no contact serves {alert.liaison.id}")
        details = await self.contacts.details(contact)
        if details is None:
            return self._failed(event, 0, f"the details of contact {contact.contact_id} were erased",
                                contact_id=contact.contact_id)
        out = Outgoing.of(str(alert.alert_id), alert_body(alert), self._links(alert))
        tried: list[str] = []
        may_pass = False
        for index, channel in enumerate(details.channels):
            attempt = await self.channels.send(channel, index, out)
            if attempt.delivered:
                log.debug("alert %s delivered to %s by %s, attempt %d", alert.alert_id, contact.label, channel.kind,
                          delivery.attempt)
                return [delivered(event, delivery.attempt, attempt.code, self.producer, channel=channel.kind,
                                  contact_id=contact.contact_id, unconfirmed=attempt.unconfirmed)]
            tried.append(f"{channel.kind}: {attempt.reason}")
            may_pass = may_pass or not attempt.final
        if not may_pass or delivery.attempt >= self.max_attempts:
            reason = "; ".join(tried) if not may_pass else f"gave up after {delivery.attempt} attempts, last: " + (
                "; ".join(tried))
            log.error("alert %s for incident %s to %s failed: %s", alert.alert_id, alert.incident_id,
                      contact.label, reason)
            return self._failed(event, delivery.attempt, reason, channel=details.channels[-1].kind,
                                contact_id=contact.contact_id)
        raise DeliveryPending(f"alert {alert.alert_id} to {contact.label}: {'; '.join(tried)}")

    def _failed(self, event: AlertRequested, attempts: int, reason: str, **where: Any) -> list[Event]:
        """AlertFailed, and the desk told of it."""
        kecamatan = event.payload.kecamatan_code
        desk = self.desk(kecamatan) if kecamatan else ()
        return [failed(event, attempts, reason, self.producer, **where),
                *undelivered_alerts(event, reason, desk, self.producer)]

    def _links(self, alert: AlertRequestedPayload) -> tuple[str, ...]:
        """Its acknowledgement link; a digest's, one per alert it sums up."""
        if self.links is None:
            return ()
        chains = [g.chain_id for g in alert.grouped] if alert.grouped else [alert.chain_id]
        return tuple(self.links.url(chain, alert.liaison.id) for chain in chains if chain)
