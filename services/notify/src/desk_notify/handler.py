"""Notify's handlers: an escalation fans out into alerts; each alert is delivered on its own.

A delivery that fails for a reason that may pass (no answer, a server error, a rate limit)
raises `DeliveryPending`: the runtime retries it with back-off, independently of every
other alert, until `max_attempts`; only then, or for a final refusal, is AlertFailed
recorded. A stopping system never records AlertFailed: the alert is simply retried later."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from desk_notify.contacts import ContactsFile
from desk_notify.fanout import alert_requests, level_alert_requests, overdue_alert_requests
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
    directory: RegionDirectory
    producer: str

    async def __call__(self, event: IncidentEscalated | AreaAlertLevelChanged | IncidentAssignmentOverdue,
                       delivery: Delivery) -> list[Event]:
        if isinstance(event, AreaAlertLevelChanged):
            return list(level_alert_requests(event, self.directory, self.producer))
        if isinstance(event, IncidentAssignmentOverdue):
            return list(overdue_alert_requests(event, self.directory, self.producer))
        return list(alert_requests(event, self.directory, self.producer))


@dataclass(frozen=True)
class Deliver:
    sender: WebhookSender
    contacts: ContactsFile
    producer: str
    max_attempts: int

    async def __call__(self, event: AlertRequested, delivery: Delivery) -> list[Event]:
        alert = event.payload
        contact = self.contacts.book().find(alert.liaison.id)
        if contact is None:
            log.error("alert %s for incident %s: no contact matches %s", alert.alert_id, alert.incident_id,
                      alert.liaison.id)
            return [failed(event, 0, f"no contact matches {alert.liaison.id}", self.producer)]
        attempt = await self.sender.post(contact.webhook, alert_body(alert), str(alert.alert_id))
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
