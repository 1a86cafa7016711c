"""The consumer's handler: alert every liaison of an IncidentEscalated concurrently, then
record one outcome per liaison (published before the input is acked)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from nats.aio.msg import Msg

from desk_notify.contacts import ContactsFile
from desk_notify.message import alert_body
from desk_notify.outcomes import alert_id, outcome_event
from desk_notify.webhook import Delivery, Heartbeat, WebhookSender
from desk_shared.bus import EventPublisher
from desk_shared.consuming import decode_as
from desk_shared.events import Event, IncidentEscalated, Liaison
from desk_shared.regions import RegionDirectory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifyHandler:
    publisher: EventPublisher
    sender: WebhookSender
    contacts: ContactsFile
    directory: RegionDirectory
    producer: str

    async def __call__(self, msg: Msg) -> None:
        event = decode_as(msg, IncidentEscalated)
        if event is None:
            return
        outcomes = await asyncio.gather(*(self._alert(event, liaison, msg.in_progress)
                                          for liaison in event.payload.liaisons))
        await self.publisher.publish_all(list(outcomes))

    async def _alert(self, escalation: IncidentEscalated, liaison: Liaison, heartbeat: Heartbeat) -> Event:
        contact = self.contacts.book().find(liaison.id)
        if contact is None:
            delivery = Delivery(attempts=0, reason=f"no contact matches {liaison.id}")
        else:
            key = alert_id(escalation, liaison.id)
            body = alert_body(key, liaison, escalation.payload, self.directory)
            delivery = await self.sender.send(contact.webhook, body, str(key), heartbeat)
        if delivery.delivered:
            log.info("alert for incident %s delivered to %s (%s) in %d attempt(s)", escalation.payload.incident_id,
                     liaison.id, contact.label if contact else "-", delivery.attempts)
        else:
            log.error("alert for incident %s to %s failed: %s", escalation.payload.incident_id, liaison.id,
                      delivery.reason)
        return outcome_event(escalation, liaison.id, delivery, self.producer)
