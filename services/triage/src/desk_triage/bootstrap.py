"""Triage's composition root: the only place that knows the concrete pieces it runs with."""

from __future__ import annotations

import asyncio
import logging

from desk_shared.contracts.events import ReportSubmitted
from desk_shared.contracts.regions import regions
from desk_shared.runtime.consumer import Routes, consume
from desk_shared.runtime.settings import BusSettings
from desk_triage.classifier import LinearModel, default_model, default_rules, load_model, load_rules
from desk_triage.handler import TriageHandler
from desk_triage.settings import TriageSettings

log = logging.getLogger(__name__)


def classifier_model(settings: TriageSettings) -> LinearModel | None:
    if not settings.use_model:
        return None
    return load_model(settings.model_file) if settings.model_file else default_model()


async def run(settings: TriageSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Consume ReportSubmitted until `stop` is set."""
    rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    model = classifier_model(settings)
    directory = await asyncio.to_thread(regions)
    log.info("triage classifying with rules %s and model %s", rules.version, model.version if model else "none")
    routes = Routes().on(ReportSubmitted, TriageHandler(rules, model, directory, settings.producer))
    await consume(bus, settings.consumer_spec(), routes, stop)
