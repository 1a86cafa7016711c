"""Escalation chains against a real nats-server and local webhooks: steps on their deadlines,
acknowledgement by the alert's link, a restart mid-chain, and the API's answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from nats.aio.client import Client
from pydantic import SecretStr

from desk_notify.bootstrap import run
from desk_notify.settings import NotifySettings
from desk_pemilu.embedded_nats import free_port
from desk_shared.contracts.events import (
    Actor,
    AlertAcknowledged,
    EscalationExhausted,
    EscalationStepReached,
    IncidentEscalated,
    IncidentEscalatedPayload,
    decode_event,
    utc_now,
)
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_testing.fixtures import read_subject
from desk_testing.policies import Rule, policy_toml

if TYPE_CHECKING:  # the fixture's type; conftest is not importable under --import-mode=importlib
    from conftest import WebhookServer

STEP_SECONDS = 2
POLICY = policy_toml(Rule(steps=[["polsek"], ["polres"]], ack_within_minutes=STEP_SECONDS / 60))


@pytest.fixture
def settings(webhooks: WebhookServer, tmp_path: Path) -> NotifySettings:
    contacts = tmp_path / "contacts.toml"
    contacts.write_text("".join(f'[[contact]]\nmatch = "{who}:*"\nwebhook = "{webhooks.url("/" + who)}"\n\n'
                                for who in ("polsek", "polres", "desk")))
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    return NotifySettings(contacts_file=contacts, policy_file=policy, first_retry_delay=0.05, max_retry_delay=0.1,
                          port=free_port(), link_secret="k" * 40)


@pytest.fixture
async def notify(bus: BusSettings, settings: NotifySettings) -> AsyncIterator[NotifySettings]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, bus, stop))
    yield settings
    stop.set()
    await asyncio.wait_for(task, 10)


def escalation(severity: Severity = Severity.KRITIS) -> IncidentEscalated:
    now = utc_now()
    return IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(), producer="triage",
        actor=Actor.service("triage"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code="11.13.01", category=Category.VIOLENCE,
            severity=severity, summary="Massa membakar kotak suara di TPS 03.", liaisons=()))


async def arrivals(webhooks: WebhookServer, path: str, count: int, within: float) -> float:
    """Seconds until `count` alerts reached `path`."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with asyncio.timeout(within):
        while len(webhooks.on(path)) < count:  # noqa: ASYNC110 (the receiver is a thread: polling is simplest)
            await asyncio.sleep(0.05)
    return loop.time() - began


async def escalation_events(nats_client: Client, bus: BusSettings, kind: type) -> list:
    found = await read_subject(nats_client.jetstream(), kind.subject, bus.stream_name)
    return [decode_event(m.data) for m in found]


async def test_unanswered_the_chain_climbs_on_its_deadlines_then_tells_the_desk(
        bus: BusSettings, nats_client: Client, webhooks: WebhookServer, notify: NotifySettings) -> None:
    event = escalation()
    await EventPublisher(nats_client.jetstream(), bus).publish(event)
    assert await arrivals(webhooks, "/polsek", 1, 5) < 1.5
    await arrivals(webhooks, "/polres", 1, STEP_SECONDS + 3)
    await arrivals(webhooks, "/desk", 1, STEP_SECONDS + 3)
    [step] = await escalation_events(nats_client, bus, EscalationStepReached)
    [exhausted] = await escalation_events(nats_client, bus, EscalationExhausted)
    assert (step.occurred_at - event.occurred_at).total_seconds() == STEP_SECONDS
    assert (exhausted.occurred_at - event.occurred_at).total_seconds() == 2 * STEP_SECONDS
    assert 0 <= (step.recorded_at - step.occurred_at).total_seconds() < 1.5  # on time
    polres = webhooks.on("/polres")[0].body
    assert polres["message"].startswith("ESKALASI, belum ditanggapi")
    assert webhooks.on("/desk")[0].body["message"].startswith("TIDAK ADA TANGGAPAN: KRITIS")
    await asyncio.sleep(STEP_SECONDS + 0.5)
    assert [len(webhooks.on(p)) for p in ("/polsek", "/polres", "/desk")] == [1, 1, 1]


async def test_the_alerts_link_acknowledges_and_stops_the_chain(
        bus: BusSettings, nats_client: Client, webhooks: WebhookServer, notify: NotifySettings) -> None:
    event = escalation()
    await EventPublisher(nats_client.jetstream(), bus).publish(event)
    await arrivals(webhooks, "/polsek", 1, 5)
    alert = webhooks.on("/polsek")[0].body
    link = alert["ack_url"]
    assert link.startswith(f"http://127.0.0.1:{notify.port}/ack/") and link in alert["message"]
    async with httpx.AsyncClient(timeout=5) as client:
        page = await client.get(link)  # a link preview opens the page: that acknowledges nothing
        assert page.status_code == 200 and "Konfirmasi penerimaan" in page.text and "<form" in page.text
        assert await escalation_events(nats_client, bus, AlertAcknowledged) == []
        done = await client.post(link)
        assert done.status_code == 200 and "Terima kasih" in done.text
        again = await client.post(link)
        assert again.status_code == 200 and "Sudah diterima" in again.text
        forged = await client.post(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
        assert forged.status_code == 404 and "tidak dikenal" in forged.text
        assert len(link.rsplit("/", 1)[1]) == 12  # short enough for an SMS
        anonymous = await client.get(f"http://127.0.0.1:{notify.port}/v1/incidents/{event.payload.incident_id}"
                                     "/escalation")
        assert anonymous.status_code == 401
    [ack] = await escalation_events(nats_client, bus, AlertAcknowledged)
    assert (ack.payload.via, ack.payload.liaison_id) == ("link", "polsek:11.13.01")
    assert ack.payload.incident_id == event.payload.incident_id
    await asyncio.sleep(STEP_SECONDS + 1.5)
    assert webhooks.on("/polres") == [] and await escalation_events(nats_client, bus, EscalationStepReached) == []


async def test_a_restarted_notify_fires_the_next_step_on_time_once(
        bus: BusSettings, nats_client: Client, webhooks: WebhookServer, settings: NotifySettings) -> None:
    stop = asyncio.Event()
    first = asyncio.create_task(run(settings, bus, stop))
    event = escalation()
    await EventPublisher(nats_client.jetstream(), bus).publish(event)
    await arrivals(webhooks, "/polsek", 1, 5)
    stop.set()
    await asyncio.wait_for(first, 10)  # down across the deadline
    await asyncio.sleep(STEP_SECONDS / 2)
    stop = asyncio.Event()
    second = asyncio.create_task(run(settings.model_copy(update={"port": free_port()}), bus, stop))
    try:
        await arrivals(webhooks, "/polres", 1, STEP_SECONDS + 3)
        [step] = await escalation_events(nats_client, bus, EscalationStepReached)
        assert (step.occurred_at - event.occurred_at).total_seconds() == STEP_SECONDS
        await asyncio.sleep(1)
        assert len(webhooks.on("/polres")) == 1 and len(webhooks.on("/polsek")) == 1
    finally:
        stop.set()
        await asyncio.wait_for(second, 10)


async def test_non_critical_escalations_close_together_reach_a_liaison_as_one_digest(
        bus: BusSettings, nats_client: Client, webhooks: WebhookServer, settings: NotifySettings) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings.model_copy(update={"group_seconds": 1.5}), bus, stop))
    try:
        publisher = EventPublisher(nats_client.jetstream(), bus)
        first, second, third = (escalation(Severity.TINGGI) for _ in range(3))
        await publisher.publish(first)
        await arrivals(webhooks, "/polsek", 1, 5)
        await publisher.publish_all([second, third])
        await arrivals(webhooks, "/polsek", 2, 5)
        await asyncio.sleep(1)
        assert len(webhooks.on("/polsek")) == 2  # the first at once, the other two in one digest
        digest = webhooks.on("/polsek")[1].body
        assert digest["message"].startswith("RINGKASAN: 2 peringatan untuk Polsek Blangkejeren")
        assert len(digest["ack_urls"]) == 2 and "1) http" in digest["message"]
        async with httpx.AsyncClient(timeout=5) as client:  # each link acknowledges its own incident
            assert "Terima kasih" in (await client.post(digest["ack_urls"][1])).text
        [ack] = await escalation_events(nats_client, bus, AlertAcknowledged)
        assert ack.payload.incident_id == third.payload.incident_id
        held = [decode_event(m.data) for m in await read_subject(nats_client.jetstream(), "desk.event.alert.held",
                                                                  bus.stream_name)]
        assert len([h for h in held if h.payload.liaison.id == "polsek:11.13.01"]) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_reply_to_the_alert_in_telegram_acknowledges_it(
        bus: BusSettings, nats_client: Client, webhooks: WebhookServer, settings: NotifySettings) -> None:
    stop = asyncio.Event()
    secret = "telegram-rahasia-123456"
    task = asyncio.create_task(run(settings.model_copy(update={"telegram_webhook_secret": SecretStr(secret)}), bus,
                                   stop))
    try:
        event = escalation()
        await EventPublisher(nats_client.jetstream(), bus).publish(event)
        await arrivals(webhooks, "/polsek", 1, 5)
        alert_text = webhooks.on("/polsek")[0].body["message"]  # what the bot would have sent
        url = f"http://127.0.0.1:{settings.port}/telegram/updates"

        def update(text: str, replied: str | None) -> dict:
            message = {"message_id": 7, "from": {"id": 4242, "username": "kapolsek"}, "chat": {"id": 4242},
                       "text": text}
            return {"update_id": 1, "message": message | ({"reply_to_message": {"text": replied}} if replied else {})}

        async with httpx.AsyncClient(timeout=5) as client:
            stranger = await client.post(url, json=update("OK", alert_text))
            assert stranger.status_code == 403  # no secret token: not Telegram
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            chatter = await client.post(url, json=update("selamat pagi", None), headers=headers)
            assert chatter.status_code == 200 and chatter.json() == {}
            answer = await client.post(url, json=update("Siap, meluncur", alert_text), headers=headers)
            assert answer.status_code == 200 and answer.json()["text"].startswith("Terima kasih")
            assert answer.json() | {"text": ""} == {"method": "sendMessage", "chat_id": 4242, "text": ""}
        [ack] = await escalation_events(nats_client, bus, AlertAcknowledged)
        assert (ack.payload.via, ack.payload.liaison_id, ack.actor.id) == ("bot", "polsek:11.13.01", "telegram:4242")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
