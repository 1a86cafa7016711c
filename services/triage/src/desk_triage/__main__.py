"""`desk-triage` / `python -m desk_triage`: run the triage service until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio

from desk_shared.service import run_until_stopped, setup_logging
from desk_shared.settings import BusSettings
from desk_triage.service import run
from desk_triage.settings import TriageSettings


def main() -> None:
    bus = BusSettings()
    settings = TriageSettings()
    setup_logging(bus.log_level, "triage")

    async def serve(stop: asyncio.Event) -> None:
        await run(settings, bus, stop)

    run_until_stopped(serve)


if __name__ == "__main__":
    main()
