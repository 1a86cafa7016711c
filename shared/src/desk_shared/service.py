"""Process plumbing every service shares: logging and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable


def setup_logging(level: str, service: str) -> None:
    logging.basicConfig(level=level.upper(), format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
    logging.getLogger("nats").setLevel(logging.WARNING)


def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)`; SIGINT or SIGTERM sets `stop` so it can finish its current work."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
