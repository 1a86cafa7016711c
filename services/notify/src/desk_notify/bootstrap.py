"""Notify's composition root: the only place that knows the concrete pieces it runs with."""

from __future__ import annotations

import asyncio
import logging

from desk_notify.contacts import ContactsFile
from desk_notify.handler import Deliver, FanOut
from desk_notify.settings import NotifySettings
from desk_notify.webhook import WebhookSender, session
from desk_shared.contracts.events import AlertRequested, IncidentEscalated
from desk_shared.contracts.incidents import AreaAlertLevelChanged, IncidentAssignmentOverdue
from desk_shared.contracts.regions import regions
from desk_shared.runtime.consumer import Routes, consume
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)


async def run(settings: NotifySettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Fan escalations out into alerts and deliver them until `stop` is set."""
    contacts = ContactsFile(settings.contacts_file)
    if settings.contacts_file is None:
        log.error("no contacts file (DESK_NOTIFY_CONTACTS_FILE): every alert will be recorded as AlertFailed")
    elif not contacts.book().contact:
        log.error("no contacts in %s: every alert will be recorded as AlertFailed", settings.contacts_file)
    directory = await asyncio.to_thread(regions)
    async with session(settings.request_timeout) as client:
        sender = WebhookSender(client, settings.per_receiver)
        fan_out = FanOut(directory, settings.producer)
        routes = (Routes()
                  .on(IncidentEscalated, fan_out)
                  .on(AreaAlertLevelChanged, fan_out)
                  .on(IncidentAssignmentOverdue, fan_out)
                  .on(AlertRequested, Deliver(sender, contacts, settings.producer, settings.max_attempts)))
        await consume(bus, settings.consumer_spec(), routes, stop)
