"""Notify against a real nats-server and a local webhook: outcomes, no duplicates, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from desk_notify.outcomes import alert_id, outcome_id
from desk_notify.service import run
from desk_notify.settings import NotifySettings
from desk_pemilu.testing import consumer_settled, read_subject
from desk_shared import subjects
from desk_shared.bus import EventPublisher
from desk_shared.events import (
    AlertDelivered,
    AlertFailed,
    Event,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    decode_event,
    utc_now,
)
from desk_shared.settings import BusSettings
from desk_shared.taxonomy import Category, Severity

if TYPE_CHECKING:  # the fixture's type; conftest is not importable under --import-mode=importlib
    from conftest import WebhookServer

POLSEK = Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren")
KORAMIL = Liaison(id="koramil:11.13.01", agency="tni", unit="Koramil Blangkejeren")
NOBODY = Liaison(id="babinsa:11.13.01", agency="tni", unit="Babinsa Penampaan")


def escalation(*liaisons: Liaison) -> IncidentEscalated:
    now = utc_now()
    return IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(), producer="triage", payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code="11.13.01",
            category=Category.VIOLENCE, severity=Severity.KRITIS,
            summary="Massa membakar kotak suara di TPS 03.", liaisons=liaisons))


@pytest.fixture
async def notify(bus: BusSettings, nats_client: Client, webhooks: WebhookServer, tmp_path: Path
                 ) -> AsyncIterator[NotifySettings]:
    contacts = tmp_path / "contacts.toml"
    contacts.write_text(f'[[contact]]\nmatch = "polsek:*"\nwebhook = "{webhooks.url("/polsek")}"\n\n'
                        f'[[contact]]\nmatch = "koramil:*"\nwebhook = "{webhooks.url("/koramil")}"\n')
    settings = NotifySettings(contacts_file=contacts, first_retry_delay=0.01, max_retry_delay=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, bus, stop))
    yield settings
    stop.set()
    await asyncio.wait_for(task, 10)


async def outcomes(js: JetStreamContext, bus: BusSettings) -> list[Event]:
    return [decode_event(m.data) for m in await read_subject(js, "desk.event.alert.*", bus.stream_name)]




async def test_each_liaison_gets_an_alert_and_one_outcome(bus: BusSettings, nats_client: Client,
                                                          webhooks: WebhookServer, notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    webhooks.script["/polsek"] = [503, 500]  # the Polsek's endpoint recovers on the third attempt
    event = escalation(POLSEK, KORAMIL, NOBODY)
    await EventPublisher(js, bus).publish(event)
    await consumer_settled(js, bus.stream_name, notify.consumer_name, 1)

    found = {o.event_id: o for o in await outcomes(js, bus)}
    assert set(found) == {outcome_id(event, lia.id) for lia in (POLSEK, KORAMIL, NOBODY)}
    polsek, koramil, nobody = (found[outcome_id(event, lia.id)] for lia in (POLSEK, KORAMIL, NOBODY))
    assert isinstance(polsek, AlertDelivered) and (polsek.payload.attempts, polsek.payload.status_code) == (3, 200)
    assert isinstance(koramil, AlertDelivered) and koramil.payload.attempts == 1
    assert isinstance(nobody, AlertFailed) and nobody.payload.attempts == 0
    assert "no contact" in nobody.payload.reason
    assert {o.causation_id for o in found.values()} == {event.event_id}

    keys = {r.headers["Idempotency-Key"] for r in webhooks.on("/polsek")}
    assert keys == {str(alert_id(event, POLSEK.id))}
    [koramil_call] = webhooks.on("/koramil")
    assert koramil_call.body["alert_id"] == str(alert_id(event, KORAMIL.id))
    assert koramil_call.body["message"].startswith("KRITIS: Kekerasan dan kerusuhan di Kec. Blangkejeren")


async def test_a_failed_webhook_is_recorded(bus: BusSettings, nats_client: Client, webhooks: WebhookServer,
                                           notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    webhooks.script["/koramil"] = [500] * 10
    event = escalation(KORAMIL)
    await EventPublisher(js, bus).publish(event)
    await consumer_settled(js, bus.stream_name, notify.consumer_name, 1)

    [failed] = await outcomes(js, bus)
    assert isinstance(failed, AlertFailed) and failed.event_id == outcome_id(event, KORAMIL.id)
    assert failed.payload.attempts == notify.max_attempts and "HTTP 500" in failed.payload.reason


async def test_a_redelivered_escalation_records_no_second_outcome(bus: BusSettings, nats_client: Client,
                                                                  webhooks: WebhookServer,
                                                                  notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    event = escalation(POLSEK, KORAMIL)
    for msg_id in ("first-copy", "second-copy"):  # the same escalation twice in the log
        await publisher.publish_raw(subjects.INCIDENT_ESCALATED, event.to_json(), msg_id)
    await consumer_settled(js, bus.stream_name, notify.consumer_name, 2)

    assert len(await outcomes(js, bus)) == 2
    assert {r.headers["Idempotency-Key"] for r in webhooks.on("/polsek")} == {str(alert_id(event, POLSEK.id))}


async def test_poison_is_dead_lettered_and_the_loop_goes_on(bus: BusSettings, nats_client: Client,
                                                            webhooks: WebhookServer, notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    await publisher.publish_raw(subjects.INCIDENT_ESCALATED, b"{not json", "poison-1")
    await publisher.publish_raw(subjects.INCIDENT_ESCALATED, b'{"type": "IncidentEscalated"}', "poison-2")
    event = escalation(POLSEK)
    await publisher.publish(event)
    await consumer_settled(js, bus.stream_name, notify.consumer_name, 3)

    dead = await read_subject(js, subjects.ALL_DEAD_LETTERS, bus.dead_letter_stream_name)
    assert [m.data for m in dead] == [b"{not json", b'{"type": "IncidentEscalated"}']
    for msg in dead:
        assert msg.headers is not None and msg.headers["Desk-Consumer"] == "notify"
        assert msg.headers["Desk-Dead-Letter-Reason"].startswith("poison")
    [delivered] = await outcomes(js, bus)
    assert isinstance(delivered, AlertDelivered) and delivered.causation_id == event.event_id
