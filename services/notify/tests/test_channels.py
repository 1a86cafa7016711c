"""The channels against local servers that speak their protocols: SMTP (aiosmtpd), the Telegram
Bot API and an SMS/WhatsApp gateway (aiohttp servers written here); the fallback from one
channel to the next; and the ledger that sends at most once where no idempotency key exists."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from nats.aio.client import Client

from desk_notify.channels.dispatch import Channels, Outgoing
from desk_notify.channels.email import EmailSender, SmtpServer
from desk_notify.channels.gateway import GatewaySender
from desk_notify.channels.ledger import SENDING, AttemptLedger
from desk_notify.channels.telegram import TelegramSender
from desk_notify.channels.webhook import WebhookSender, session
from desk_notify.message import SMS_LIMIT, short_text
from desk_pemilu.embedded_nats import free_port
from desk_shared.contracts.contacts import Channel
from desk_shared.runtime.settings import BusSettings

MESSAGE = ("KRITIS: Kekerasan dan kerusuhan di Desa Penampaan, Kec. Blangkejeren, Kabupaten Gayo Lues. Laporan: "
           "Massa membakar kotak suara di TPS 03 — dua petugas KPPS luka-luka. Klasifikasi otomatis oleh sistem, "
           "belum diverifikasi petugas Desk Pemilu. Mohon segera ditindaklanjuti.")
LINK = "https://desk.example.go.id/ack/AbCdEfGhIjKl"


@dataclass
class Mailbox:
    messages: list[email.message.Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@dataclass
class Remote:
    """A Telegram Bot API and an SMS gateway in one local server."""

    url: str = ""
    telegram: list[dict[str, Any]] = field(default_factory=list)
    gateway: dict[str, dict[str, Any]] = field(default_factory=dict)
    telegram_script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    gateway_down: bool = False


@pytest.fixture
async def remote() -> AsyncIterator[Remote]:
    state = Remote()

    async def send_message(request: web.Request) -> web.Response:
        if request.match_info["token"] != "123:rahasia":
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if state.telegram_script:
            status, answer = state.telegram_script.pop(0)
            return web.json_response(answer, status=status)
        state.telegram.append(await request.json())
        return web.json_response({"ok": True, "result": {"message_id": len(state.telegram)}})

    async def gateway_send(request: web.Request) -> web.Response:
        if state.gateway_down:
            return web.Response(status=503)
        if request.headers.get("Authorization") != "Bearer gw-token":
            return web.Response(status=401)
        body = await request.json()
        state.gateway.setdefault(body["reference"], body)
        return web.json_response({"accepted": True}, status=202)

    async def gateway_status(request: web.Request) -> web.Response:
        return web.Response(status=200 if request.match_info["reference"] in state.gateway else 404)

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    app.router.add_post("/gw/messages", gateway_send)
    app.router.add_get("/gw/messages/{reference}", gateway_status)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def outgoing(alert_id: str = "a1b2") -> Outgoing:
    return Outgoing.of(alert_id, {"alert_id": alert_id, "message": MESSAGE}, (LINK,))


def test_the_sms_text_fits_one_sms_keeps_the_essentials_and_the_whole_link() -> None:
    text = short_text(MESSAGE, LINK)
    assert len(text) <= SMS_LIMIT and text.isascii()
    assert text.startswith("KRITIS: Kekerasan dan kerusuhan di Desa Penampaan, Kec. Blangkejeren")
    assert text.endswith(f"... {LINK}")
    assert short_text("KRITIS: singkat.", None) == "KRITIS: singkat."


async def test_email_is_sent_with_the_alert_as_its_message_id(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    sender = EmailSender(SmtpServer("127.0.0.1", port, "Desk Pemilu <desk@example.go.id>"))
    out = outgoing()
    attempt = await sender.send("piket@polres.example.go.id", "KRITIS: Kekerasan", out.text, out.alert_id)
    assert attempt.delivered and attempt.code == 250
    [message] = box.messages
    assert message["Message-ID"] == "<a1b2@desk-pemilu>" and message["Subject"] == "KRITIS: Kekerasan"
    assert LINK in message.get_payload(decode=True).decode()
    box.refuse.add("nobody@polres.example.go.id")
    refused = await sender.send("nobody@polres.example.go.id", "s", "t", "a1b3")
    assert not refused.delivered and refused.final
    down = await EmailSender(SmtpServer("127.0.0.1", free_port(), "d@example.go.id", timeout=2)).send(
        "piket@polres.example.go.id", "s", "t", "a1b4")
    assert not down.delivered and not down.final  # no server: may pass


async def test_telegram_and_the_gateway_speak_their_apis(remote: Remote) -> None:
    async with session(3.0) as client:
        telegram = TelegramSender(client, remote.url, "123:rahasia")
        assert (await telegram.send("100200300", "uji")).delivered
        assert remote.telegram == [{"chat_id": "100200300", "text": "uji", "disable_web_page_preview": True}]
        remote.telegram_script = [(429, {"ok": False, "error_code": 429, "description": "Too Many Requests"}),
                                  (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})]
        busy, unknown = await telegram.send("1", "x"), await telegram.send("2", "x")
        assert not busy.final and unknown.final and "chat not found" in unknown.reason
        assert (await TelegramSender(client, remote.url, "999:salah").send("1", "x")).final

        gateway = GatewaySender(client, f"{remote.url}/gw", "gw-token")
        assert (await gateway.send("sms", "+6281200001", "uji", "ref-1")).delivered
        assert await gateway.accepted("ref-1") is True and await gateway.accepted("ref-2") is False
        assert (await GatewaySender(client, f"{remote.url}/gw", "salah").send("sms", "+62", "x", "r")).final


async def test_a_failing_channel_falls_back_to_the_next_and_no_server_means_the_next(
        bus: BusSettings, nats_client: Client, smtp: tuple[Mailbox, int], remote: Remote) -> None:
    box, port = smtp
    ledger = await AttemptLedger.open(nats_client.jetstream(), bus)
    async with session(2.0) as client:
        channels = Channels(WebhookSender(client), ledger, email=EmailSender(SmtpServer("127.0.0.1", port, "d@x.id")),
                            gateway=GatewaySender(client, f"{remote.url}/gw", "gw-token"))
        dead = Channel(kind="webhook", address=f"http://127.0.0.1:{free_port()}/hook")
        assert not (await channels.send(dead, 0, outgoing("alert-1"))).final
        assert (await channels.send(Channel(kind="telegram", address="100"), 1, outgoing("alert-1"))).final
        sent = await channels.send(Channel(kind="email", address="piket@x.id"), 2, outgoing("alert-1"))
        assert sent.delivered and len(box.messages) == 1
        again = await channels.send(Channel(kind="email", address="piket@x.id"), 2, outgoing("alert-1"))
        assert again.delivered and len(box.messages) == 1  # recorded as sent: not sent twice
        sms = await channels.send(Channel(kind="sms", address="+6281200001"), 0, outgoing("alert-2"))
        assert sms.delivered and len(remote.gateway["alert-2-sms"]["text"]) <= SMS_LIMIT


async def test_after_a_crash_mid_send_the_ledger_reconciles_instead_of_sending_twice(
        bus: BusSettings, nats_client: Client, smtp: tuple[Mailbox, int], remote: Remote) -> None:
    box, port = smtp
    js = nats_client.jetstream()
    ledger = await AttemptLedger.open(js, bus)
    kv = await js.key_value(bus.alert_attempts_bucket)
    async with session(2.0) as client:
        channels = Channels(WebhookSender(client), ledger, email=EmailSender(SmtpServer("127.0.0.1", port, "d@x.id")),
                            gateway=GatewaySender(client, f"{remote.url}/gw", "gw-token"))
        await kv.put("crashed-mail.0", SENDING)  # a process died after starting to send this
        maybe = await channels.send(Channel(kind="email", address="piket@x.id"), 0, outgoing("crashed-mail"))
        assert maybe.delivered and maybe.unconfirmed and box.messages == []

        sms = Channel(kind="sms", address="+6281200001")
        await channels.send(sms, 0, outgoing("sent-sms"))  # it went out ...
        await kv.put("sent-sms.0", SENDING)  # ... but the record of it did not
        assert (await channels.send(sms, 0, outgoing("sent-sms"))).delivered
        assert list(remote.gateway) == ["sent-sms-sms"]
        await kv.put("lost-sms.0", SENDING)  # it never reached the gateway: send it now
        assert (await channels.send(sms, 0, outgoing("lost-sms"))).delivered and "lost-sms-sms" in remote.gateway

        remote.gateway_down = True
        failed = await channels.send(sms, 0, outgoing("later-sms"))
        assert not failed.delivered and not failed.final
        with pytest.raises(Exception, match="not found"):
            await kv.get("later-sms.0")  # a failed send leaves nothing: the next attempt sends
    await asyncio.sleep(0)
