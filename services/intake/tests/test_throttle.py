"""The per-worker limits: an agency's token bucket and a client's failed authentications."""

from __future__ import annotations

from desk_intake.throttle import FAILURE_WINDOW_SECONDS, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_agency_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    throttle = Throttle(rate=2.0, burst=3, failures_per_minute=5, clock=clock)
    assert [throttle.take("kpu") for _ in range(3)] == [None, None, None]
    wait = throttle.take("kpu")
    assert wait is not None and abs(wait - 0.5) < 1e-9
    assert throttle.take("bawaslu") is None  # another agency has its own bucket
    clock.now += 0.5
    assert throttle.take("kpu") is None and throttle.take("kpu") is not None
    clock.now += 100
    assert [throttle.take("kpu") for _ in range(4)].count(None) == 3  # refilled to the burst, not beyond


def test_failures_past_the_allowance_wait_until_the_oldest_leaves_the_minute() -> None:
    clock = Clock()
    throttle = Throttle(rate=1.0, burst=1, failures_per_minute=2, clock=clock)
    assert throttle.failed("10.0.0.1") is None
    clock.now += 10
    assert throttle.failed("10.0.0.1") is None
    wait = throttle.failed("10.0.0.1")
    assert wait is not None and abs(wait - (FAILURE_WINDOW_SECONDS - 10)) < 1e-9
    assert throttle.failed("10.0.0.2") is None
    clock.now += FAILURE_WINDOW_SECONDS
    assert throttle.failed("10.0.0.1") is None  # the window has passed


def test_memory_stays_bounded_however_many_clients_fail() -> None:
    throttle = Throttle(rate=1.0, burst=1, failures_per_minute=1, max_tracked=100, clock=Clock())
    for n in range(10_000):
        throttle.failed(f"10.0.{n // 256}.{n % 256}")
        throttle.take(f"agency-{n}")
    assert len(throttle._failures) == len(throttle._buckets) == 100
