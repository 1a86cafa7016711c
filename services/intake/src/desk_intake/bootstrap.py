"""Wiring: one NATS connection serves the NATS API and publishes for both doors."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from nats.aio.client import Client

from desk_intake import http_api
from desk_intake.body_limit import BodySizeLimit
from desk_intake.nats_api import NatsDoor
from desk_intake.receiving import Intake
from desk_intake.reports_endpoint import ReportsEndpoint
from desk_intake.settings import IntakeSettings
from desk_intake.throttle import Throttle
from desk_shared.access.registry import Registry, evolve
from desk_shared.contracts import subjects
from desk_shared.contracts.regions import regions
from desk_shared.privacy import SubjectKeys
from desk_shared.runtime.bus import connect
from desk_shared.runtime.history import Follower
from desk_shared.runtime.process import setup_logging
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import streams_ready

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_SUPERVISOR_PID = "DESK_INTAKE_SUPERVISOR_PID"
"""Set by the supervisor for its workers (not a setting): a worker stops when that process is gone."""


def create_app(settings: IntakeSettings, bus: BusSettings) -> http_api.HttpDoors:
    """The ASGI app of one intake worker: its own NATS connection, both doors."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        regions()  # read the region directory now, not during the first request
        gc.collect()
        gc.freeze()  # long-lived from here on: no full collection walks it again (one took ~25 ms)
        nc = await connect(bus, "desk-intake")  # waits for NATS, retrying every second
        app.state.nats = nc
        js = nc.jetstream()
        await streams_ready(js, bus)
        access = Follower(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve)
        await access.start()  # the agencies and keys as the log has them, then kept current
        app.state.registry = lambda: access.state
        app.state.intake = Intake(EventPublisher(js, bus), settings.regency_scope, js, bus.stream_name,
                                  await SubjectKeys.open(js, bus))
        door = NatsDoor(nc, app.state.intake, app.state.registry, settings, app.state.throttle)
        await door.start()
        log.info("intake API listening on http://%s:%d; NATS requests on desk.intake.<agency>.report",
                 settings.host, settings.port)
        yield
        await door.stop(settings.shutdown_seconds)
        await access.stop()
        await nc.close()

    app = FastAPI(title="Desk Pemilu intake", version="0.1.0", lifespan=lifespan,
                  description="Agencies submit incident reports; each accepted report is appended to the event log.")
    app.state.settings = settings
    app.state.nats = None
    app.state.registry = Registry  # no agency is known until the log is read: every key is refused
    app.state.throttle = Throttle.from_settings(settings)
    app.state.connected = lambda: _is_connected(app.state.nats)
    app.include_router(http_api.router)
    http_api.install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes, drain=settings.max_drain_bytes)
    reports = BodySizeLimit(ReportsEndpoint(app.state), limit=settings.max_body_bytes, drain=settings.max_drain_bytes)
    return http_api.HttpDoors(app, reports)


def _is_connected(nc: Client | None) -> bool:
    return nc is not None and nc.is_connected


def worker_app() -> http_api.HttpDoors:
    """The app of one worker process when there are several (uvicorn calls this in each)."""
    _stop_with_supervisor()
    settings, bus = IntakeSettings(), BusSettings()
    setup_logging(bus.log_level, "intake")
    return create_app(settings, bus)


def name_supervisor() -> None:
    """Tell the workers about to be spawned which process is their supervisor."""
    os.environ[_SUPERVISOR_PID] = str(os.getpid())


def _stop_with_supervisor() -> None:
    """Linux: a worker gets SIGTERM when its supervisor dies (even by kill -9), so none is
    left holding the port. A supervisor that died while this worker was starting, before it
    asked for that signal, is noticed here: the worker stops at once."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    supervisor = os.environ.get(_SUPERVISOR_PID)
    if supervisor and os.getppid() != int(supervisor):
        os.kill(os.getpid(), signal.SIGTERM)
