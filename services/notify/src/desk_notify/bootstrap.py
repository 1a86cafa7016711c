"""Notify's composition root: the only place that knows the concrete pieces it runs with."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import aiohttp
from pydantic import SecretStr

from desk_access.api_server import ApiServer
from desk_notify.ack_api import Desk, create_app
from desk_notify.channels.dispatch import Channels
from desk_notify.channels.email import EmailSender, SmtpServer
from desk_notify.channels.gateway import GatewaySender
from desk_notify.channels.ledger import AttemptLedger
from desk_notify.channels.rates import RateLimit
from desk_notify.channels.telegram import TelegramSender
from desk_notify.channels.webhook import WebhookSender, session
from desk_notify.contact_list import ContactList
from desk_notify.escalation.links import AckLinks
from desk_notify.escalation.policy import load_policy
from desk_notify.escalation.watcher import Escalations
from desk_notify.handler import Deliver, FanOut
from desk_notify.settings import NotifySettings
from desk_shared.access.guard import PeopleGuard
from desk_shared.contracts.events import AlertRequested, IncidentEscalated
from desk_shared.contracts.incidents import AreaAlertLevelChanged, IncidentAssignmentOverdue
from desk_shared.contracts.regions import regions
from desk_shared.privacy import SubjectKeys
from desk_shared.runtime.bus import connect
from desk_shared.runtime.consumer import Routes, consume
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import streams_ready

log = logging.getLogger(__name__)


def ack_links(settings: NotifySettings) -> AckLinks | None:
    if settings.link_secret is None:
        log.warning("no DESK_NOTIFY_LINK_SECRET: alerts carry no acknowledgement link (the API still takes them)")
        return None
    return AckLinks(settings.link_secret.get_secret_value().encode(), settings.link_base,
                    timedelta(hours=settings.link_valid_hours))


def channels(settings: NotifySettings, client: aiohttp.ClientSession, ledger: AttemptLedger) -> Channels:
    """The channels this desk has servers for."""
    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value else None

    email = EmailSender(SmtpServer(settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.smtp_starttls,
                                   settings.smtp_username, secret(settings.smtp_password),
                                   settings.request_timeout)) if settings.smtp_host else None
    token = secret(settings.telegram_bot_token)
    telegram = TelegramSender(client, settings.telegram_api_url, token) if token else None
    gateway = GatewaySender(client, settings.gateway_url, secret(settings.gateway_token)) if settings.gateway_url \
        else None
    webhook_secret = secret(settings.webhook_secret)
    return Channels(WebhookSender(client, settings.per_receiver), ledger,
                    webhook_secret=webhook_secret.encode() if webhook_secret else None, email=email,
                    telegram=telegram, gateway=gateway,
                    rates={kind: RateLimit(n) for kind, n in settings.rate_per_minute.items() if n > 0})


async def run(settings: NotifySettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Run escalation chains, deliver alerts and take acknowledgements until `stop` is set."""
    directory = await asyncio.to_thread(regions)
    policy = load_policy(directory, settings.policy_file)
    links = ack_links(settings)
    log.info("notify escalating with policy %s", policy.version)
    ready: list[Desk] = []
    telegram_secret = settings.telegram_webhook_secret
    app = create_app(lambda: ready[0] if ready else None, links,
                     telegram_secret.get_secret_value() if telegram_secret else None)
    server = ApiServer(app, settings.host, settings.port, "notify")
    nc = await connect(bus, "notify-escalations")
    try:
        js = nc.jetstream()
        await streams_ready(js, bus)
        escalations = Escalations(js, bus, directory, settings.producer, settings.horizon, settings.flood_rules())
        await escalations.start()
        app.state.people_guard = await PeopleGuard.start(js, bus)
        publisher = EventPublisher(js, bus)
        contacts = ContactList(js, bus, await SubjectKeys.open(js, bus), settings.contacts_file, settings.producer)
        await contacts.start(publisher)
        if not contacts.directory.contacts:
            log.error("no contacts (DESK_NOTIFY_CONTACTS_FILE): every alert will be recorded as AlertFailed")
        ready.append(Desk(escalations, publisher))
        async with session(settings.request_timeout) as client:
            fan_out = FanOut(directory, escalations, policy, settings.producer)
            routes = (Routes()
                      .on(IncidentEscalated, fan_out)
                      .on(AreaAlertLevelChanged, fan_out)
                      .on(IncidentAssignmentOverdue, fan_out)
                      .on(AlertRequested, Deliver(channels(settings, client, await AttemptLedger.open(js, bus)),
                                                  contacts, settings.producer, settings.max_attempts, policy.desk,
                                                  links)))
            async with asyncio.TaskGroup() as tasks:  # one failing stops the process (the launcher restarts it)
                tasks.create_task(consume(bus, settings.consumer_spec(), routes, stop))
                tasks.create_task(escalations.run(publisher, stop))
                tasks.create_task(contacts.watch(publisher, stop))
                tasks.create_task(server.serve())
                await stop.wait()
                server.should_exit = True
        await escalations.stop()
        await contacts.stop()
        publisher.close()
    finally:
        await nc.close()
