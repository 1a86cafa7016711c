"""Notify's handlers: an escalation fans out into alerts; each alert is delivered on its own.

A delivery that fails for a reason that may pass (no answer, a server error, a rate limit)
raises `DeliveryPending`: the runtime retries it with back-off, independently of every
other alert, until `max_attempts`; only then, or for a final refusal, is AlertFailed
recorded. A stopping system never records AlertFailed: the alert is simply retried later."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from desk_notify.contacts import ContactsFile
from desk_notify.escalation.chains import start
from desk_notify.escalation.links import AckLinks
from desk_notify.escalation.policy import Policy
from desk_notify.escalation.watcher import Escalations
from desk_notify.fanout import level_alert_requests, overdue_alert_requests
from desk_notify.message import alert_body
from desk_notify.outcomes import delivered, failed
from desk_notify.webhook import WebhookSender
from desk_shared.contracts.events import AlertRequested, Event, IncidentEscalated
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
    sender: WebhookSender
    contacts: ContactsFile
    producer: str
    max_attempts: int
    links: AckLinks | None = None
    """Alerts of a chain carry an acknowledgement link when links are configured."""

    async def __call__(self, event: AlertRequested, delivery: Delivery) -> list[Event]:
        alert = event.payload
        contact = self.contacts.book().find(alert.liaison.id)
        if contact is None:
            log.error("alert %s for incident %s: no contact matches %s", alert.alert_id, alert.incident_id,
                      alert.liaison.id)
            return [failed(event, 0, f"no contact matches {alert.liaison.id}", self.producer)]
        attempt = await self.sender.post(contact.webhook, self._body(event), str(alert.alert_id))
        if attempt.delivered:
            log.debug("alert %s for incident %s delivered to %s (%s), attempt %d", alert.alert_id, alert.incident_id,
                     alert.liaison.id, contact.label, delivery.attempt)
            return [delivered(event, delivery.attempt, attempt.status_code or 0, self.producer)]
        if attempt.final or delivery.attempt >= self.max_attempts:
            reason = attempt.reason if attempt.final else (
                f"gave up after {delivery.attempt} attempts, last: {attempt.reason}")
            log.error("alert %s for incident %s to %s failed: %s", alert.alert_id, alert.incident_id,
                      alert.liaison.id, reason)
            return [failed(event, delivery.attempt, reason, self.producer)]
        raise DeliveryPending(f"alert {alert.alert_id} to {contact.label}: {attempt.reason}")

    def _body(self, event: AlertRequested) -> dict[str, Any]:
        alert = event.payload
        body = alert_body(alert)
        if self.links is not None and alert.chain_id is not None and alert.incident_id is not None:
            url = self.links.url(alert.incident_id, alert.chain_id, alert.liaison.id, event.occurred_at)
            body["ack_url"] = url
            body["message"] = f"{body['message']} Konfirmasi terima: {url}"
        return body
