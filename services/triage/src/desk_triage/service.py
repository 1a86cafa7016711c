"""Wiring: the only place that knows the concrete pieces triage runs with."""

from __future__ import annotations

import asyncio
import logging

from desk_shared.consuming import consume
from desk_shared.regions import regions
from desk_shared.settings import BusSettings
from desk_triage.classifier import default_rules, load_rules
from desk_triage.handler import TriageHandler
from desk_triage.settings import TriageSettings

log = logging.getLogger(__name__)


async def run(settings: TriageSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Consume ReportSubmitted until `stop` is set."""
    rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    directory = await asyncio.to_thread(regions)
    log.info("triage classifying with rules %s", rules.version)
    await consume(bus, settings.consumer_spec(),
                  lambda publisher: TriageHandler(publisher, rules, directory, settings.producer), stop)
