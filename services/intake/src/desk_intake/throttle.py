"""Limits that keep one agency's flood or one client's guessing from crowding out the rest.

Each worker keeps its own counts (a second replica needs none of them: each protects itself,
so the limits hold per worker). Per agency: a token bucket of reports per second with a burst.
Per client address: failed authentications in a sliding minute; past the limit that client's
failing requests are answered 429 instead of 401 until the minute has passed. A request with
a valid key is never refused for failures: one bad producer behind a shared address does not
lock out the good ones."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from desk_intake.settings import IntakeSettings

FAILURE_WINDOW_SECONDS = 60.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Throttle:
    def __init__(self, rate: float, burst: int, failures_per_minute: int, max_tracked: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._failures_allowed = rate, burst, failures_per_minute
        self._max_tracked = max_tracked
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> Throttle:
        return cls(settings.agency_rate, settings.agency_burst, settings.failures_per_minute)

    def take(self, agency: str) -> float | None:
        """None if `agency` may submit one more report now; else the seconds until it may."""
        now = self._clock()
        bucket = self._buckets.pop(agency, None) or _Bucket(float(self._burst), now)
        bucket.tokens = min(float(self._burst), bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        self._remember(self._buckets, agency, bucket)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._rate

    def failed(self, client: str) -> float | None:
        """Count a failed authentication of `client`: None while it is within its allowance,
        else the seconds until its oldest failure leaves the window."""
        now = self._clock()
        times = self._failures.pop(client, None) or deque()
        while times and now - times[0] >= FAILURE_WINDOW_SECONDS:
            times.popleft()
        times.append(now)
        self._remember(self._failures, client, times)
        if len(times) <= self._failures_allowed:
            return None
        return FAILURE_WINDOW_SECONDS - (now - times[0])

    def _remember(self, table: OrderedDict, key: str, value: object) -> None:
        """Most recently seen last; the least recently seen forgotten past `max_tracked` (bounded memory)."""
        table[key] = value
        while len(table) > self._max_tracked:
            table.popitem(last=False)
