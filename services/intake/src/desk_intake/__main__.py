"""`python -m desk_intake` / `desk-intake`: serve the HTTP and NATS entry points.

With `DESK_INTAKE_WORKERS` > 1, uvicorn's supervisor binds the port once and runs that many
worker processes on it (restarting one that dies); each has its own NATS connection and
joins the NATS queue group, so both doors share the load."""

from __future__ import annotations

from typing import Any

import uvicorn

from desk_intake.bootstrap import create_app, name_supervisor
from desk_intake.settings import IntakeSettings
from desk_shared.runtime.process import setup_logging
from desk_shared.runtime.settings import BusSettings


def main() -> None:
    settings, bus = IntakeSettings(), BusSettings()
    setup_logging(bus.log_level, "intake")
    options: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_level": "warning",
                               "timeout_graceful_shutdown": settings.shutdown_seconds}
    if settings.workers == 1:
        uvicorn.run(create_app(settings, bus), **options)
    else:
        name_supervisor()
        uvicorn.run("desk_intake.bootstrap:worker_app", factory=True, workers=settings.workers, **options)


if __name__ == "__main__":
    main()
