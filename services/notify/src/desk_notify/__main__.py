"""`desk-notify` / `python -m desk_notify`: run the notify service until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio

from desk_notify.service import run
from desk_notify.settings import NotifySettings
from desk_shared.service import run_until_stopped, setup_logging
from desk_shared.settings import BusSettings


def main() -> None:
    bus = BusSettings()
    settings = NotifySettings()
    setup_logging(bus.log_level, "notify")

    async def serve(stop: asyncio.Event) -> None:
        await run(settings, bus, stop)

    run_until_stopped(serve)


if __name__ == "__main__":
    main()
