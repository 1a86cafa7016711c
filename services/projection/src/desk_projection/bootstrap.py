"""The projection's composition root: the only place that builds the engines, projector, reader and API."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from desk_access.api_server import ApiServer
from desk_projection.api import create_app
from desk_projection.archive import (
    ArchiveStream,
    AsOfRecord,
    NotAnArchive,
    read_as_of,
    read_only_engine,
    require_current_schema,
)
from desk_projection.board.live import SituationFeed
from desk_projection.database import make_engine, migrate
from desk_projection.projector import Projector
from desk_projection.settings import ProjectionSettings
from desk_shared.access.guard import PeopleGuard
from desk_shared.privacy import Disclosure, SubjectKeys
from desk_shared.runtime.bus import connect
from desk_shared.runtime.log_reader import LogReader, ReadTotals, RetryPolicy
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams, streams_ready

log = logging.getLogger(__name__)

CONSUMER = "projection"
"""The name of the projection's reader (its consumers, its dead letters)."""


def log_reader(projector: Projector, settings: ProjectionSettings, bus: BusSettings, **options: Any) -> LogReader:
    """The reader that feeds `projector` from the log (`options`: LogReader's keyword arguments)."""
    retry = RetryPolicy(max_attempts=settings.max_attempts, first_delay_seconds=settings.retry_delay_seconds,
                        max_delay_seconds=settings.max_retry_delay_seconds)
    return LogReader(projector, bus, name=CONSUMER, batch_size=settings.batch_size,
                     fetch_timeout_seconds=settings.fetch_timeout_seconds, retry=retry,
                     prefetch_batches=settings.prefetch_batches, **options)


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def serve(settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    """Migrate, then run the reader and the API until `stop` is set. A database holding an archive
    (an as-of record, see `archive`) is served read-only instead: no reader, no migration.
    Raises NotAnArchive when DESK_PROJECTION_ARCHIVE is set and the database holds none."""
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    probe = make_engine(settings.database_url)
    try:
        as_of = await asyncio.to_thread(read_as_of, probe)
    finally:
        probe.dispose()
    if as_of is not None:
        await serve_archive(settings, bus, stop, as_of)
        return
    if settings.archive:
        raise NotAnArchive(f"{safe_url(settings.database_url)} holds no archive (no as-of record): make one with "
                           "desk-projection replay --until ... --database-url URL")
    writer = make_engine(settings.database_url, writer=True, sqlite=settings.sqlite_writing())
    reading = make_engine(settings.database_url)
    try:
        await asyncio.to_thread(migrate, writer)
        log.info("read models in %s", safe_url(settings.database_url))
        reader = log_reader(Projector(writer), settings, bus)
        feed = SituationFeed(reading, settings.live_interval_seconds)
        app = create_app(reading, settings, reader, feed)
        projecting = asyncio.create_task(reader.run(stop), name="projection-reader")
        await run_api(app, settings, bus, stop, feed, projecting)
    finally:
        writer.dispose()
        reading.dispose()


async def serve_archive(settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event,
                        as_of: AsOfRecord) -> None:
    """Serve an archive read-only until `stop` (see `archive`)."""
    reading = read_only_engine(settings.database_url)
    try:
        await asyncio.to_thread(require_current_schema, reading)
        log.info("serving the archive in %s, read-only: %s", safe_url(settings.database_url), as_of.label())
        feed = SituationFeed(reading, settings.live_interval_seconds, as_of.clock)
        app = create_app(reading, settings, ArchiveStream(as_of), feed, as_of)
        await run_api(app, settings, bus, stop, feed)
    finally:
        reading.dispose()


async def run_api(app: FastAPI, settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event,
                  feed: SituationFeed, projecting: asyncio.Task[Any] | None = None) -> None:
    """Serve `app` (with its people guard and live feed) and the reader's task `projecting`, if any,
    until `stop` is set or one of them ends."""
    server = ApiServer(app, settings.host, settings.port, "projection")
    serving = asyncio.create_task(server.serve(), name="projection-api")
    guarding = asyncio.create_task(guard_people(app, bus, stop), name="projection-guard")
    watching = asyncio.create_task(feed.run(stop), name="projection-live")
    stopper = asyncio.create_task(stop.wait())
    ending = {serving, stopper} | ({projecting} if projecting else set())
    await asyncio.wait(ending, return_when=asyncio.FIRST_COMPLETED)
    if not stop.is_set():
        log.error("%s ended on its own; stopping", "reader" if projecting and projecting.done() else "API")
    log.info("stopping")
    stop.set()
    server.should_exit = True
    tasks = [t for t in (projecting, serving, guarding, watching) if t is not None]
    await asyncio.wait(tasks, timeout=10)
    for task in tasks:
        if not task.done():
            task.cancel()
        elif not task.cancelled() and task.exception():
            log.error("%s failed: %r", task.get_name(), task.exception())
    log.info("stopped")


async def guard_people(app: FastAPI, bus: BusSettings, stop: asyncio.Event) -> None:
    """Know the people and their sessions, and be able to show (and record showing) personal data;
    the API answers 503 to people until then. Until `stop`."""
    nc = await connect(bus, "projection-guard")
    try:
        js = nc.jetstream()
        await streams_ready(js, bus)
        guard = await PeopleGuard.start(js, bus)
        publisher = EventPublisher(js, bus)
        app.state.disclosure = Disclosure(await SubjectKeys.open(js, bus), publisher, CONSUMER)
        app.state.people_guard = guard
        app.state.nats = nc  # the login form is relayed to access over it
        await stop.wait()
        publisher.close()
        await guard.stop()
    finally:
        await nc.close()


def tune_garbage_collector(settings: ProjectionSettings) -> None:
    """Applying a batch allocates hundreds of thousands of short-lived objects: with Python's default
    threshold (700) the collector runs thousands of times a second, each time also walking every
    long-lived object of the process. Freezing what start-up created and collecting the youngest
    generation less often gave about a fifth more events/s (measured with bench/projection.py)."""
    if settings.gc_threshold:
        gc.freeze()
        gc.set_threshold(settings.gc_threshold, 50, 1000)


async def rebuild(settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event,
                  progress: Callable[[int, int], Callable[[ReadTotals], None]] | None = None,
                  stop_at: int | None = None) -> ReadTotals | None:
    """Replay the log from sequence 1 into an empty database, up to `stop_at` (that sequence
    included), else up to the stream's last sequence at the moment the rebuild started. Returns
    None when the database is not empty. `progress(start, target)`, if given, makes the function
    called with the totals as they grow."""
    writer = make_engine(settings.database_url, writer=True, sqlite=settings.sqlite_writing())
    try:
        await asyncio.to_thread(migrate, writer)
        projector = Projector(writer)
        if await asyncio.to_thread(projector.position) > 0:
            log.error("%s already holds a projection: rebuild only into an empty database",
                      safe_url(settings.database_url))
            return None
        target = stop_at if stop_at is not None else await stream_last_sequence(bus)
        log.info("rebuilding %s from the log, sequences 1..%d", safe_url(settings.database_url), target)
        reader = log_reader(projector, settings, bus, dead_letter=False, client_name="desk-projection-rebuild")
        if progress is None:
            return await reader.run(stop, stop_at=target)
        report = progress(0, target)
        showing = asyncio.create_task(report_progress(reader, report))
        try:
            return await reader.run(stop, stop_at=target)
        finally:
            showing.cancel()
            report(reader.totals)
    finally:
        writer.dispose()


async def report_progress(reader: LogReader, report: Callable[[ReadTotals], None],
                          interval: float = 0.2) -> None:
    while True:
        report(reader.totals)
        await asyncio.sleep(interval)


async def stream_last_sequence(bus: BusSettings) -> int:
    nc = await asyncio.wait_for(connect(bus, "desk-projection-rebuild"), 10)
    try:
        js = nc.jetstream()
        await ensure_streams(js, bus)
        return int((await js.stream_info(bus.stream_name)).state.last_seq)
    finally:
        await nc.close()
