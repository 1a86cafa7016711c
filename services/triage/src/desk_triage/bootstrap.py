"""Triage's composition root: the only place that knows the concrete pieces it runs with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import FastAPI

from desk_access.api_server import ApiServer
from desk_shared.access.guard import PeopleGuard
from desk_shared.contracts.events import Liaison, ReportSubmitted
from desk_shared.contracts.regions import regions
from desk_shared.runtime.bus import connect
from desk_shared.runtime.consumer import Routes, consume
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import streams_ready
from desk_triage.check_watcher import CheckWatcher
from desk_triage.classifier import LinearModel, default_model, default_rules, load_model, load_rules
from desk_triage.handler import TriageHandler
from desk_triage.officers_api import create_app
from desk_triage.settings import TriageSettings

log = logging.getLogger(__name__)


def classifier_model(settings: TriageSettings) -> LinearModel | None:
    if not settings.use_model:
        return None
    return load_model(settings.model_file) if settings.model_file else default_model()


async def run(settings: TriageSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Consume ReportSubmitted and keep the 'cek segera' deadlines until `stop` is set."""
    rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    model = classifier_model(settings)
    directory = await asyncio.to_thread(regions)
    log.info("triage classifying with rules %s and model %s", rules.version, model.version if model else "none")
    handler = TriageHandler(rules, model, directory, settings.producer, settings.check_within)
    routes = Routes().on(ReportSubmitted, handler)
    desk = OfficersDesk()
    app = create_app(lambda: desk.watcher, lambda: desk.publisher, handler.liaisons, settings.producer)
    server = ApiServer(app, settings.host, settings.port, "triage")
    async with asyncio.TaskGroup() as tasks:  # one failing stops the process (and the launcher restarts it)
        tasks.create_task(consume(bus, settings.consumer_spec(), routes, stop))
        tasks.create_task(desk.run(bus, handler.liaisons, settings, app, stop))
        tasks.create_task(server.serve())
        await stop.wait()
        server.should_exit = True


class OfficersDesk:
    """The 'cek segera' side of triage: the checks' deadlines, and what officers' answers need."""

    def __init__(self) -> None:
        self.watcher: CheckWatcher | None = None
        self.publisher: EventPublisher | None = None

    async def run(self, bus: BusSettings, liaisons: Callable[[str], tuple[Liaison, ...]], settings: TriageSettings,
                  app: FastAPI, stop: asyncio.Event) -> None:
        """Escalate checks unanswered by their deadline and take officers' answers, until `stop`."""
        nc = await connect(bus, "triage-checks")
        try:
            js = nc.jetstream()
            await streams_ready(js, bus)
            watcher = CheckWatcher(js, bus, liaisons, settings.producer)
            await watcher.start()
            app.state.people_guard = await PeopleGuard.start(js, bus)
            self.publisher = EventPublisher(js, bus)
            self.watcher = watcher
            await watcher.run(stop)
            await watcher.stop()
            self.publisher.close()
        finally:
            await nc.close()
