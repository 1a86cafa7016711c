"""The sealer as a service: seals on a timer, and publishes its public key and latest checkpoint."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from desk_access.api_server import ApiServer
from desk_audit.sealer import BrokenLog, Sealer
from desk_audit.settings import AuditSettings
from desk_audit.witnessing import Cosigner, Witness
from desk_shared.runtime.bus import connect
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import streams_ready

log = logging.getLogger(__name__)


def create_app(sealer: Sealer) -> FastAPI:
    app = FastAPI(title="Desk Pemilu audit", description="The log's seals: public key and latest checkpoint.")

    @app.get("/v1/key", response_class=PlainTextResponse)
    async def public_key() -> str:
        """The log's public key (`name+hash+base64`): what auditors verify seals with."""
        return sealer.key.verifier.text() + "\n"

    @app.get("/v1/checkpoint", response_class=PlainTextResponse)
    async def checkpoint() -> str:
        """The newest seal's checkpoint with its cosignatures (empty before the first seal)."""
        return sealer.state.latest or ""

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "sealed_to": sealer.state.sealed, "seal_seq": sealer.state.seal_seq}

    return app


async def run(settings: AuditSettings, bus: BusSettings, stop: asyncio.Event) -> None:
    nc = await connect(bus, "audit")
    try:
        js = nc.jetstream()
        await streams_ready(js, bus)
        witnesses = [Witness(w.url, w.verifier) for w in settings.witnesses]
        sealer = Sealer(js, EventPublisher(js, bus), bus.stream_name, settings.signing_key(), settings.origin,
                        Cosigner(witnesses, settings.witness_timeout_seconds), settings.max_range)
        await sealer.start()
        server = ApiServer(create_app(sealer), settings.host, settings.port, "audit")
        serving = asyncio.create_task(server.serve())
        try:
            while not stop.is_set():
                try:
                    sealed = await sealer.seal_once()
                except (PublishFailed, TimeoutError) as exc:
                    log.warning("sealing postponed: %r", exc)
                    sealed = 0
                except BrokenLog as exc:
                    log.error("the log cannot be sealed: %s", exc)
                    sealed = 0
                if not sealed:
                    await sleep_unless(stop, settings.seal_seconds)
        finally:
            server.should_exit = True
            await serving
    finally:
        await nc.close()
