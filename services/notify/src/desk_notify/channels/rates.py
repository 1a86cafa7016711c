"""A rate limit per channel kind (an SMS gateway's contract, Telegram's 30 messages a second):
sends are spaced evenly, with a small burst allowed; over the limit a send waits its turn, it
is never dropped."""

from __future__ import annotations

import asyncio


class RateLimit:
    def __init__(self, per_minute: float, burst: int = 5) -> None:
        self._interval = 60.0 / per_minute
        self._burst = burst
        self._next = 0.0

    async def turn(self) -> None:
        now = asyncio.get_running_loop().time()
        at = max(now - (self._burst - 1) * self._interval, self._next)
        self._next = at + self._interval
        if at > now:
            await asyncio.sleep(at - now)
