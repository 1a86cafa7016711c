"""A channel's rate limit spaces sends evenly after a small burst, and drops none."""

from __future__ import annotations

import asyncio

from desk_notify.channels.rates import RateLimit


async def test_sends_over_the_limit_wait_their_turn() -> None:
    limit = RateLimit(per_minute=600, burst=3)  # one every 0.1 s
    loop = asyncio.get_running_loop()
    began = loop.time()
    times = []

    async def send() -> None:
        await limit.turn()
        times.append(loop.time() - began)

    await asyncio.gather(*(send() for _ in range(8)))
    assert len(times) == 8
    assert sum(1 for t in times if t < 0.05) == 3  # the burst at once
    assert 0.45 <= max(times) < 0.9  # the other five spaced 0.1 s apart
