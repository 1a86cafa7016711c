"""Wiring: the only place that knows the concrete pieces notify runs with."""

from __future__ import annotations

import asyncio
import logging

import httpx

from desk_notify.contacts import ContactsFile
from desk_notify.handler import NotifyHandler
from desk_notify.settings import NotifySettings
from desk_notify.webhook import WebhookSender
from desk_shared.consuming import consume
from desk_shared.regions import regions
from desk_shared.settings import BusSettings

log = logging.getLogger(__name__)


async def run(settings: NotifySettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Consume IncidentEscalated until `stop` is set."""
    contacts = ContactsFile(settings.contacts_file)
    if settings.contacts_file is None:
        log.error("no contacts file (DESK_NOTIFY_CONTACTS_FILE): every alert will be recorded as AlertFailed")
    elif not contacts.book().contact:
        log.error("no contacts in %s: every alert will be recorded as AlertFailed", settings.contacts_file)
    directory = await asyncio.to_thread(regions)
    async with httpx.AsyncClient(timeout=settings.request_timeout) as client:
        sender = WebhookSender(client, settings.retry_policy())
        await consume(bus, settings.consumer_spec(),
                      lambda publisher: NotifyHandler(publisher, sender, contacts, directory, settings.producer),
                      stop)
