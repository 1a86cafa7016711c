"""One alert, said the way each channel takes it, sent on one of a contact's channels: the
webhook with the alert's id as its idempotency key; the others once, through the ledger; each
kind within its rate limit. A kind this desk has no server for is refused, so the contact's
next channel is tried."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from desk_notify.channels.attempt import Attempt
from desk_notify.channels.email import EmailSender
from desk_notify.channels.gateway import GatewaySender
from desk_notify.channels.ledger import AttemptLedger
from desk_notify.channels.rates import RateLimit
from desk_notify.channels.telegram import TelegramSender
from desk_notify.channels.webhook import WebhookSender
from desk_notify.message import email_subject, short_text
from desk_shared.contracts.contacts import Channel, ChannelKind


@dataclass(frozen=True)
class Outgoing:
    """An alert as its channels say it."""

    alert_id: str
    body: dict[str, Any]
    """The webhook's JSON (its `message` ends with the acknowledgement link)."""
    text: str
    short: str
    """At most one SMS."""

    @classmethod
    def of(cls, alert_id: str, body: dict[str, Any], links: tuple[str, ...] = ()) -> Outgoing:
        """`links`: its acknowledgement link, or a digest's, one per alert it sums up."""
        message = body["message"]
        if not links:
            return cls(alert_id, body, message, short_text(message))
        if len(links) == 1:
            text = f"{message} {LINK_LABEL} {links[0]}"
            return cls(alert_id, {**body, "message": text, "ack_url": links[0]}, text, short_text(message, links[0]))
        text = f"{message} {LINK_LABEL} " + " ".join(f"{n}) {link}" for n, link in enumerate(links, 1))
        return cls(alert_id, {**body, "message": text, "ack_urls": list(links)}, text, short_text(message))


LINK_LABEL = "Konfirmasi terima:"


class Channels:
    def __init__(self, webhook: WebhookSender, ledger: AttemptLedger, *, webhook_secret: bytes | None = None,
                 email: EmailSender | None = None, telegram: TelegramSender | None = None,
                 gateway: GatewaySender | None = None, rates: Mapping[ChannelKind, RateLimit] | None = None) -> None:
        self._webhook, self._ledger, self._secret = webhook, ledger, webhook_secret
        self._email, self._telegram, self._gateway = email, telegram, gateway
        self._rates = dict(rates or {})

    async def send(self, channel: Channel, index: int, out: Outgoing) -> Attempt:
        if (rate := self._rates.get(channel.kind)) is not None:
            await rate.turn()
        if channel.kind == "webhook":
            secret = channel.secret.encode() if channel.secret else self._secret
            return await self._webhook.post(channel.address, out.body, out.alert_id, secret)
        key = f"{out.alert_id}.{index}"
        if channel.kind == "email" and self._email:
            email = self._email
            return await self._ledger.once(key, lambda: email.send(channel.address, email_subject(out.text), out.text,
                                                                   out.alert_id), _cannot_tell)
        if channel.kind == "telegram" and self._telegram:
            telegram = self._telegram
            return await self._ledger.once(key, lambda: telegram.send(channel.address, out.text), _cannot_tell)
        if channel.kind in ("sms", "whatsapp") and self._gateway:
            gateway, reference = self._gateway, f"{out.alert_id}-{channel.kind}"
            text = out.short if channel.kind == "sms" else out.text

            async def accepted() -> Attempt | None:
                found = await gateway.accepted(reference)
                if found is None:
                    return Attempt.no_answer("the gateway cannot say whether it took the message")
                return Attempt.sent(200, "the gateway took it before") if found else None

            return await self._ledger.once(key, lambda: gateway.send(channel.kind, channel.address, text, reference),
                                           accepted)
        return Attempt.refused(None, f"no {channel.kind} server is configured on this desk", final=True)


async def _cannot_tell() -> Attempt:
    return Attempt.maybe_sent("it may have gone out before notify stopped; the channel cannot say, so it is not "
                              "sent again")
