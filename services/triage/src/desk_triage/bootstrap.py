"""Triage's composition root: the only place that knows the concrete pieces it runs with."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from desk_access.api_server import ApiServer
from desk_shared.access.guard import PeopleGuard
from desk_shared.access.registry import Registry, evolve
from desk_shared.contracts import subjects
from desk_shared.contracts.events import ReportSubmitted
from desk_shared.contracts.regions import regions
from desk_shared.runtime.bus import connect
from desk_shared.runtime.consumer import Routes, consume
from desk_shared.runtime.history import Follower
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import streams_ready
from desk_triage.check_watcher import CheckWatcher
from desk_triage.classifier import LinearModel, default_model, default_rules, load_model, load_rules
from desk_triage.command_door import CommandDoor
from desk_triage.commands import Workbench
from desk_triage.handler import TriageHandler
from desk_triage.incident_book import IncidentBook, check_server
from desk_triage.incidents.decide import Desk
from desk_triage.liaisons import Liaisons
from desk_triage.officers_api import create_app
from desk_triage.settings import TriageSettings
from desk_triage.timekeeper import Timekeeper

log = logging.getLogger(__name__)


def classifier_model(settings: TriageSettings) -> LinearModel | None:
    if not settings.use_model:
        return None
    return load_model(settings.model_file) if settings.model_file else default_model()


async def run(settings: TriageSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Place reports in incidents, take officers' decisions and keep deadlines until `stop` is set."""
    rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    model = classifier_model(settings)
    liaisons = Liaisons(await asyncio.to_thread(regions))
    desk = replace(settings.desk(), liaisons=liaisons.kecamatan, desk_liaisons=liaisons.desk)
    log.info("triage classifying with rules %s and model %s, routing %s", rules.version,
             model.version if model else "none", desk.routing.version)
    room = Room()
    handler = TriageHandler(rules, model, desk, room.appender, settings.check_within)
    app = create_app(lambda: room.bench, desk)
    server = ApiServer(app, settings.host, settings.port, "triage")
    async with asyncio.TaskGroup() as tasks:  # one failing stops the process (and the launcher restarts it)
        tasks.create_task(room.run(bus, desk, app, stop))
        await room.wait_ready(stop)
        tasks.create_task(consume(bus, settings.consumer_spec(), Routes().on(ReportSubmitted, handler), stop))
        tasks.create_task(server.serve())
        await stop.wait()
        server.should_exit = True


class Room:
    """Triage's own connection: the incident book, the 'cek segera' checks, the deadlines, and
    what the officers' API needs. Reports are handled only once the book has read the log."""

    def __init__(self) -> None:
        self.bench: Workbench | None = None
        self._ready = asyncio.Event()

    def appender(self) -> tuple[IncidentBook, EventPublisher]:
        assert self.bench is not None, "reports are consumed only once the room is ready"
        return self.bench.book, self.bench.publisher

    async def wait_ready(self, stop: asyncio.Event) -> None:
        waiting = asyncio.ensure_future(self._ready.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()

    async def run(self, bus: BusSettings, desk: Desk, app: object, stop: asyncio.Event) -> None:
        nc = await connect(bus, "triage-room")
        try:
            version = nc.connected_server_version
            check_server(version.major, version.minor)
            js = nc.jetstream()
            await streams_ready(js, bus)
            book = IncidentBook(js, bus)
            await book.start()
            checks = CheckWatcher(js, bus, desk.liaisons, desk.producer)
            await checks.start()
            agencies = Follower(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve)
            await agencies.start()
            guard = await PeopleGuard.start(js, bus)
            app.state.people_guard = guard  # type: ignore[attr-defined]
            publisher = EventPublisher(js, bus)
            self.bench = Workbench(book, publisher, checks, lambda: agencies.state)
            door = CommandDoor(nc, guard, lambda: self.bench, desk)
            await door.open()
            self._ready.set()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(checks.run(stop))
                tasks.create_task(Timekeeper(book, publisher, desk).run(stop))
            await door.close()
            await checks.stop()
            await agencies.stop()
            await book.stop()
            publisher.close()
        finally:
            await nc.close()
