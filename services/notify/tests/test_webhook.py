"""The retry policy, and the sender against a real local HTTP server."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import httpx
import pytest

from desk_notify.retry import RetryPolicy
from desk_notify.webhook import Delivery, WebhookSender
from desk_pemilu.embedded_nats import free_port

if TYPE_CHECKING:  # the fixture's type; conftest is not importable under --import-mode=importlib
    from conftest import WebhookServer

FAST = RetryPolicy(max_attempts=5, first_delay=0.01, max_delay=0.05)


@pytest.mark.parametrize(("status", "retryable"), [
    (500, True), (502, True), (503, True), (408, True), (429, True), (400, False), (401, False), (404, False),
    (410, False), (422, False),
])
def test_which_answers_are_retried(status: int, retryable: bool) -> None:
    assert RetryPolicy.retryable(status) is retryable


def test_delays_grow_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(first_delay=0.5, max_delay=8.0)
    rng = random.Random(7)
    for failed, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delay = policy.delay(failed, rng)
        assert ceiling / 2 <= delay <= ceiling


class Beats:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def send(url: str, policy: RetryPolicy = FAST) -> tuple[Delivery, Beats]:
    beats = Beats()
    async with httpx.AsyncClient(timeout=2) as client:
        delivery = await WebhookSender(client, policy, random.Random(1)).send(url, {"a": 1}, "key-1", beats)
    return delivery, beats


async def test_fails_twice_then_delivered(webhooks: WebhookServer) -> None:
    webhooks.script["/hook"] = [500, 503]
    delivery, beats = await send(webhooks.url("/hook"))
    assert (delivery.delivered, delivery.attempts, delivery.status_code) == (True, 3, 200)
    assert beats.count == 2  # in_progress between attempts
    assert [r.headers["Idempotency-Key"] for r in webhooks.on("/hook")] == ["key-1"] * 3
    assert webhooks.on("/hook")[0].body == {"a": 1}


async def test_always_500_gives_up_after_max_attempts(webhooks: WebhookServer) -> None:
    webhooks.script["/down"] = [500] * 10
    delivery, _ = await send(webhooks.url("/down"))
    assert (delivery.delivered, delivery.attempts) == (False, 5)
    assert "HTTP 500" in delivery.reason
    assert len(webhooks.on("/down")) == 5


async def test_a_client_error_is_not_retried(webhooks: WebhookServer) -> None:
    webhooks.script["/gone"] = [404]
    delivery, beats = await send(webhooks.url("/gone"))
    assert (delivery.delivered, delivery.attempts, delivery.status_code) == (False, 1, 404)
    assert beats.count == 0


async def test_rate_limit_is_retried(webhooks: WebhookServer) -> None:
    webhooks.script["/busy"] = [429]
    delivery, _ = await send(webhooks.url("/busy"))
    assert (delivery.delivered, delivery.attempts) == (True, 2)


async def test_unreachable_port_fails_after_max_attempts() -> None:
    delivery, beats = await send(f"http://127.0.0.1:{free_port()}/hook", RetryPolicy(3, 0.01, 0.02))
    assert (delivery.delivered, delivery.attempts, delivery.status_code) == (False, 3, None)
    assert "ConnectError" in delivery.reason
    assert beats.count == 2
