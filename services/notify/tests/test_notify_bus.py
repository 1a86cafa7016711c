"""Notify against a real nats-server and a local webhook: one alert per liaison, each delivered
on its own with retries, one outcome each, no duplicates, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from desk_notify.bootstrap import run
from desk_notify.settings import NotifySettings
from desk_pemilu.embedded_nats import free_port
from desk_shared.contracts import subjects
from desk_shared.contracts.events import (
    Actor,
    AlertDelivered,
    AlertFailed,
    AlertRequested,
    EscalationStarted,
    Event,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    decode_event,
    derived_id,
    utc_now,
)
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_testing.fixtures import read_subject
from desk_testing.policies import Rule, policy_toml

if TYPE_CHECKING:  # the fixture's type; conftest is not importable under --import-mode=importlib
    from conftest import WebhookServer

POLSEK = Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren")
KORAMIL = Liaison(id="koramil:11.13.01", agency="tni", unit="Koramil Blangkejeren")
NOBODY = Liaison(id="babinsa:11.13.01", agency="tni", unit="Babinsa Penampaan")


TEST_POLICY = policy_toml(Rule(steps=[["polsek", "koramil", "babinsa"]], severities=["tinggi"]),
                          Rule(steps=[["polsek", "koramil"]]))
"""Tinggi alerts a Babinsa as well, who has no contact; nothing reaches a second step here; the
desk (told of undelivered alerts) has no contact either."""


def escalation(severity: Severity = Severity.KRITIS) -> IncidentEscalated:
    now = utc_now()
    return IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(), producer="triage", actor=Actor.service("triage"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code="11.13.01",
            category=Category.VIOLENCE, severity=severity,
            summary="Massa membakar kotak suara di TPS 03.", liaisons=()))


def first_alert_id(event: IncidentEscalated, liaison: Liaison) -> uuid.UUID:
    """The id of the chain's first alert to `liaison`."""
    return derived_id(derived_id(event.event_id, "EscalationStarted"), f"alert:{liaison.id}")


@pytest.fixture
async def notify(bus: BusSettings, nats_client: Client, webhooks: WebhookServer, tmp_path: Path
                 ) -> AsyncIterator[NotifySettings]:
    contacts = tmp_path / "contacts.toml"
    polsek = webhooks.url("/polsek").replace("127.0.0.1", "localhost")  # another origin: a receiver of its own
    contacts.write_text(f'[[contact]]\nmatch = "polsek:*"\nwebhook = "{polsek}"\n\n'
                        f'[[contact]]\nmatch = "koramil:*"\nwebhook = "{webhooks.url("/koramil")}"\n')
    policy = tmp_path / "policy.toml"
    policy.write_text(TEST_POLICY)
    settings = NotifySettings(contacts_file=contacts, policy_file=policy, first_retry_delay=0.05,
                              max_retry_delay=0.1, max_attempts=4, port=free_port())
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, bus, stop))
    yield settings
    stop.set()
    await asyncio.wait_for(task, 10)


async def alert_events(js: JetStreamContext, bus: BusSettings) -> list[Event]:
    return [decode_event(m.data) for m in await read_subject(js, "desk.event.alert.*", bus.stream_name)]


async def outcomes(js: JetStreamContext, bus: BusSettings, expected: int) -> dict[str, Event]:
    """The alerts' outcomes by liaison, once `expected` of them are in the log (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            found = {e.payload.liaison_id: e for e in await alert_events(js, bus)
                     if isinstance(e, AlertDelivered | AlertFailed)}
            if len(found) >= expected:
                return found
            await asyncio.sleep(0.1)




async def test_each_liaison_gets_its_own_alert_and_one_outcome(bus: BusSettings, nats_client: Client,
                                                               webhooks: WebhookServer, notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    webhooks.script["/polsek"] = [503, 500]  # the Polsek's endpoint recovers on the third attempt
    event = escalation(Severity.TINGGI)
    await EventPublisher(js, bus).publish(event)

    found = await outcomes(js, bus, 4)  # the desk's too (told of the Babinsa's)
    requests = [e for e in await alert_events(js, bus) if isinstance(e, AlertRequested) and not e.payload.undelivered]
    assert sorted(r.payload.liaison.id for r in requests) == sorted(lia.id for lia in (POLSEK, KORAMIL, NOBODY))
    assert {r.causation_id for r in requests} == {derived_id(event.event_id, "EscalationStarted")}
    assert {r.occurred_at for r in requests} == {event.occurred_at}  # derived: the time of its cause
    by_liaison = {r.payload.liaison.id: r for r in requests}
    polsek, koramil, nobody = (found[lia.id] for lia in (POLSEK, KORAMIL, NOBODY))
    assert isinstance(polsek, AlertDelivered) and (polsek.payload.attempts, polsek.payload.status_code) == (3, 200)
    assert isinstance(koramil, AlertDelivered) and koramil.payload.attempts == 1
    assert isinstance(nobody, AlertFailed) and nobody.payload.attempts == 0
    assert "no contact" in nobody.payload.reason
    [told] = [r for r in await alert_events(js, bus) if isinstance(r, AlertRequested) and r.payload.undelivered]
    assert told.payload.liaison.id == "desk:11.13" and told.payload.undelivered == nobody.payload.alert_id
    assert told.payload.message.startswith("GAGAL TERKIRIM: peringatan untuk Babinsa Blangkejeren")
    assert all(found[lia].causation_id == by_liaison[lia].event_id for lia in by_liaison)

    keys = {r.headers["Idempotency-Key"] for r in webhooks.on("/polsek")}
    assert keys == {str(first_alert_id(event, POLSEK))}
    [koramil_call] = webhooks.on("/koramil")
    assert koramil_call.body["alert_id"] == str(first_alert_id(event, KORAMIL))
    assert koramil_call.body["message"].startswith("TINGGI: Kekerasan dan kerusuhan di Kec. Blangkejeren")
    assert koramil_call.body["incident"]["report_id"] == str(event.payload.report_id)


async def test_an_alert_fails_only_after_its_attempts_or_a_final_refusal(bus: BusSettings, nats_client: Client,
                                                                        webhooks: WebhookServer,
                                                                        notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    webhooks.script["/koramil"] = [500] * 10
    webhooks.script["/polsek"] = [404]
    event = escalation()
    await EventPublisher(js, bus).publish(event)

    found = await outcomes(js, bus, 3)  # with the desk's (told of both)
    koramil, polsek = found[KORAMIL.id], found[POLSEK.id]
    assert isinstance(koramil, AlertFailed) and koramil.payload.attempts == notify.max_attempts
    assert "HTTP 500" in koramil.payload.reason and len(webhooks.on("/koramil")) == notify.max_attempts
    assert isinstance(polsek, AlertFailed) and polsek.payload.attempts == 1 and "HTTP 404" in polsek.payload.reason


async def test_a_slow_webhook_does_not_hold_the_others(bus: BusSettings, nats_client: Client,
                                                      webhooks: WebhookServer, notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    webhooks.delay["/polsek"] = 3.0
    await EventPublisher(js, bus).publish_all([escalation() for _ in range(20)])
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(10):
        while True:
            if len(webhooks.on("/koramil")) == 20:
                break
            await asyncio.sleep(0.05)
    assert asyncio.get_running_loop().time() - started < 2.5  # all twenty while the Polsek's hang
    found = await outcomes(js, bus, 2)
    assert isinstance(found[POLSEK.id], AlertDelivered)


async def test_a_redelivered_escalation_sends_and_records_nothing_twice(bus: BusSettings, nats_client: Client,
                                                                       webhooks: WebhookServer,
                                                                       notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    event = escalation()
    for msg_id in ("first-copy", "second-copy"):  # the same escalation twice in the log
        await publisher.publish_raw(event.address, event.to_json(), msg_id)
    await outcomes(js, bus, 2)
    await asyncio.sleep(0.5)

    kinds = sorted(e.event_type for e in await alert_events(js, bus))
    assert len(await read_subject(js, EscalationStarted.subject, bus.stream_name)) == 1
    assert kinds == ["AlertDelivered", "AlertDelivered", "AlertRequested", "AlertRequested"]
    assert len(webhooks.on("/polsek")) == len(webhooks.on("/koramil")) == 1


async def test_poison_is_dead_lettered_and_the_loop_goes_on(bus: BusSettings, nats_client: Client,
                                                            webhooks: WebhookServer, notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    publisher = EventPublisher(js, bus)
    poison = f"{IncidentEscalated.subject}.11.13.01.poison"
    await publisher.publish_raw(poison, b"{not json", "poison-1")
    await publisher.publish_raw(poison, b'{"type": "IncidentEscalated"}', "poison-2")
    await publisher.publish(escalation())
    found = await outcomes(js, bus, 2)

    dead = await read_subject(js, subjects.ALL_DEAD_LETTERS, bus.dead_letter_stream_name)
    assert [m.data for m in dead] == [b"{not json", b'{"type": "IncidentEscalated"}']
    for msg in dead:
        assert msg.headers is not None and msg.headers["Desk-Consumer"] == "notify"
        assert msg.headers["Desk-Dead-Letter-Reason"].startswith("poison")
    assert isinstance(found[POLSEK.id], AlertDelivered)


async def test_a_changed_contacts_file_is_recorded_sealed_and_its_fallback_channel_delivers(
        bus: BusSettings, nats_client: Client, webhooks: WebhookServer, notify: NotifySettings) -> None:
    js = nats_client.jetstream()
    assert notify.contacts_file is not None
    dead = f"http://127.0.0.1:{free_port()}/babinsa"
    notify.contacts_file.write_text(notify.contacts_file.read_text() + (
        '\n[[contact]]\nid = "babinsa"\nserves = ["babinsa:*"]\nlabel = "Babinsa, piket"\nname = "Serka Contoh"\n'
        f'channels = [{{kind = "webhook", address = "{dead}"}}, '
        f'{{kind = "webhook", address = "{webhooks.url("/babinsa-cadangan")}"}}]\n'))

    async def registered() -> list[bytes]:
        return [m.data for m in await read_subject(js, "desk.event.contact.>", bus.stream_name)
                if b'"babinsa"' in m.data]

    async with asyncio.timeout(10):
        while not await registered():  # noqa: ASYNC110 (the file is checked every 2 s)
            await asyncio.sleep(0.2)
    [stored] = await registered()
    assert b"Serka Contoh" not in stored and dead.encode() not in stored and b"Babinsa, piket" in stored

    await EventPublisher(js, bus).publish(escalation(Severity.TINGGI))
    found = await outcomes(js, bus, 3)
    babinsa = found[NOBODY.id]
    assert isinstance(babinsa, AlertDelivered) and babinsa.payload.contact_id == "babinsa"
    assert len(webhooks.on("/babinsa-cadangan")) == 1
