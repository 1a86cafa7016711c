"""One webhook attempt against a real local HTTP server: what counts as delivered, final or worth a retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desk_notify.channels.attempt import Attempt
from desk_notify.channels.webhook import WebhookSender, session, verify
from desk_pemilu.embedded_nats import free_port

if TYPE_CHECKING:  # the fixture's type; conftest is not importable under --import-mode=importlib
    from conftest import WebhookServer


@pytest.mark.parametrize(("status", "delivered", "final"), [
    (200, True, True), (202, True, True), (500, False, False), (502, False, False), (503, False, False),
    (408, False, False), (425, False, False), (429, False, False), (400, False, True), (401, False, True),
    (404, False, True), (410, False, True), (422, False, True),
])
def test_which_answers_end_an_alert(status: int, delivered: bool, final: bool) -> None:
    attempt = Attempt.http(status)
    assert (attempt.delivered, attempt.final, attempt.reason) == (delivered, final, f"HTTP {status}")


def test_no_answer_is_never_final() -> None:
    attempt = Attempt.no_answer("ConnectError: refused")
    assert (attempt.delivered, attempt.final, attempt.reason) == (False, False, "ConnectError: refused")


async def post(url: str) -> Attempt:
    async with session(2.0) as client:
        return await WebhookSender(client).post(url, {"a": 1}, "key-1")


async def test_one_post_with_the_alerts_key(webhooks: WebhookServer) -> None:
    webhooks.script["/hook"] = [503]
    assert (await post(webhooks.url("/hook"))).code == 503
    assert (await post(webhooks.url("/hook"))).delivered
    assert [r.headers["Idempotency-Key"] for r in webhooks.on("/hook")] == ["key-1"] * 2
    assert webhooks.on("/hook")[0].body == {"a": 1}


async def test_an_unreachable_port_is_an_error_not_an_exception() -> None:
    attempt = await post(f"http://127.0.0.1:{free_port()}/hook")
    assert attempt.code is None and "ClientConnectorError" in attempt.reason


async def test_a_receiver_that_never_answers_is_a_timeout(webhooks: WebhookServer) -> None:
    webhooks.delay["/hang"] = 2.0
    async with session(0.3) as client:
        attempt = await WebhookSender(client).post(webhooks.url("/hang"), {"a": 1}, "key-2")
    assert attempt.code is None and "Timeout" in attempt.reason


async def test_a_signed_post_verifies_with_its_secret_only_and_only_while_fresh(webhooks: WebhookServer) -> None:
    async with session(2.0) as client:
        attempt = await WebhookSender(client).post(webhooks.url("/signed"), {"pesan": "Bentrok — TPS 3"}, "key-3",
                                                   b"rahasia-bersama-1234")
    assert attempt.delivered
    [request] = webhooks.on("/signed")
    headers, raw = request.headers, request.raw
    assert verify(b"rahasia-bersama-1234", headers, raw)
    assert not verify(b"rahasia-lain-123456", headers, raw)
    assert not verify(b"rahasia-bersama-1234", headers, raw.replace(b"3", b"4"))
    sent_at = int(headers["Desk-Timestamp"])
    assert not verify(b"rahasia-bersama-1234", headers, raw, now=sent_at + 301)  # a replay minutes later
    assert not verify(b"rahasia-bersama-1234", {**headers, "Desk-Timestamp": str(sent_at + 1)}, raw)
    assert "Desk-Signature" not in webhooks.on("/hook") and webhooks.on("/hook") == []
