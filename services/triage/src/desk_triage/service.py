"""Wiring: the only place that knows the concrete pieces triage runs with."""

from __future__ import annotations

import asyncio
import logging

from desk_shared.bus import DeadLetters, EventPublisher, connect
from desk_shared.consuming import DurableConsumer
from desk_shared.regions import regions
from desk_shared.settings import BusSettings
from desk_triage.classifier import default_rules, load_rules
from desk_triage.handler import TriageHandler
from desk_triage.settings import TriageSettings

log = logging.getLogger(__name__)


async def run(settings: TriageSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Consume ReportSubmitted until `stop` is set, then drain the connection."""
    rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    directory = await asyncio.to_thread(regions)
    spec = settings.consumer_spec()
    nc = await connect(bus, f"desk-{settings.consumer_name}")
    try:
        js = nc.jetstream()
        publisher = EventPublisher(js, bus)
        consumer = DurableConsumer(js, bus, spec, DeadLetters(publisher, bus, spec.name))
        await consumer.ensure()
        handler = TriageHandler(publisher, rules, directory, settings.producer)
        log.info("triage consuming %s (rules %s)", spec.filter_subject, rules.version)
        await consumer.run(handler, stop)
        log.info("triage stopping")
    finally:
        if not nc.is_closed:
            await nc.drain()
