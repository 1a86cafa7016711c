"""`python -m desk_intake` / `desk-intake`: serve the HTTP and NATS entry points."""

from __future__ import annotations

import uvicorn

from desk_intake.bootstrap import create_app
from desk_intake.settings import IntakeSettings
from desk_shared.runtime.process import setup_logging
from desk_shared.runtime.settings import BusSettings


def main() -> None:
    settings, bus = IntakeSettings(), BusSettings()
    setup_logging(bus.log_level, "intake")
    uvicorn.run(create_app(settings, bus), host=settings.host, port=settings.port, log_level="warning",
                timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
