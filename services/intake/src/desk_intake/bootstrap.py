"""Wiring: one NATS connection (FastStream broker) serves the NATS API and publishes for both."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.nats import NatsBroker

from desk_intake import http_api, nats_api
from desk_intake.receiving import Intake
from desk_intake.settings import IntakeSettings
from desk_shared.runtime.bus import connect_options
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

log = logging.getLogger(__name__)


def create_app(settings: IntakeSettings, bus: BusSettings) -> FastAPI:
    broker = NatsBroker(**connect_options(bus, "desk-intake"), logger=None)

    def intake() -> Intake:
        return app.state.intake

    nats_api.register(broker, settings, intake)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await broker.connect()  # waits for NATS, retrying every second
        js = broker.connection.jetstream()
        await ensure_streams(js, bus)
        app.state.intake = Intake(EventPublisher(js, bus), settings.regency_scope)
        await broker.start()
        log.info("intake API listening on http://%s:%d; NATS requests on desk.intake.<agency>.report",
                 settings.host, settings.port)
        yield
        await broker.stop()

    app = FastAPI(title="Desk Pemilu intake", version="0.1.0", lifespan=lifespan,
                  description="Agencies submit incident reports; each accepted report is appended to the event log.")
    app.state.settings = settings
    app.state.connected = lambda: _is_connected(broker)
    app.include_router(http_api.router)
    http_api.install_error_handlers(app)
    app.add_middleware(http_api.BodySizeLimit, limit=settings.max_body_bytes, drain=settings.max_drain_bytes)
    return app


def _is_connected(broker: NatsBroker) -> bool:
    try:
        return bool(broker.connection.is_connected)
    except Exception:  # not connected yet
        return False
