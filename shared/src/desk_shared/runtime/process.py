"""Process plumbing every service shares: logging and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

import uvloop

from desk_shared.runtime.settings import BusSettings


def setup_logging(level: str, service: str) -> None:
    logging.basicConfig(level=level.upper(), format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
    logging.getLogger("nats").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is not news


def serve(service: str, main: Callable[[BusSettings, asyncio.Event], Awaitable[None]]) -> None:
    """A service's entry point: bus settings, logging, then `main(bus, stop)` until a signal."""
    bus = BusSettings()
    setup_logging(bus.log_level, service)
    run_until_stopped(lambda stop: main(bus, stop))


def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` on uvloop; SIGINT or SIGTERM sets `stop` so it can finish its current work.

    uvloop: the consumers' work is many small asynchronous steps per event (a publish, its
    acknowledgement, an ack), where uvloop's event loop costs less than asyncio's own."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner_:
        runner_.run(runner())


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
