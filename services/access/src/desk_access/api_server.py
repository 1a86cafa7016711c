"""uvicorn under the service's own stop event (no signal handlers of its own), announcing its address."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class ApiServer(uvicorn.Server):
    def __init__(self, app: FastAPI, host: str, port: int, name: str) -> None:
        super().__init__(uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning",
                                        access_log=False, lifespan="off"))
        self.name = name

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log.info("%s API listening on http://%s:%d", self.name, self.config.host, self.config.port)
