"""Exactly one alert on channels that honour no idempotency key (e-mail, Telegram, SMS, WhatsApp):
the attempt is recorded before sending, in a key-value bucket every replica shares, and what
was sent is recorded after. A redelivered alert that finds an attempt recorded but not its end
(its process died between sending and recording) reconciles instead of sending again: the SMS
gateway is asked whether it took the message; e-mail and Telegram cannot say, so the alert
counts as delivered, unconfirmed (at most one alert; the escalation's next step is the net)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from desk_notify.channels.attempt import Attempt
from desk_shared.runtime.buckets import open_bucket
from desk_shared.runtime.settings import BusSettings

SENDING, SENT = b"sending", b"sent"
KEEP_SECONDS = 3 * 24 * 3600
"""An alert is retried for minutes; its record is kept for days."""

Reconcile = Callable[[], Awaitable[Attempt | None]]
"""After a crash mid-send: whether it went out (None: it did not; send it)."""


class AttemptLedger:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, bus: BusSettings) -> AttemptLedger:
        return cls(await open_bucket(js, bus.alert_attempts_bucket, bus, "Desk Pemilu: alerts being sent on channels "
                                     "without an idempotency key", max_age_seconds=KEEP_SECONDS))

    async def once(self, key: str, send: Callable[[], Awaitable[Attempt]], reconcile: Reconcile) -> Attempt:
        try:
            entry = (await self._kv.get(key)).value
        except KeyNotFoundError:
            entry = None
        if entry == SENT:
            return Attempt.sent(0, "sent before (recorded), not sent again")
        if entry == SENDING:
            found = await reconcile()
            if found is not None:
                await self._kv.put(key, SENT)
                return found
        else:
            try:
                await self._kv.create(key, SENDING)
            except KeyWrongLastSequenceError:
                return Attempt.no_answer("another replica is sending it right now")
        attempt = await send()
        if attempt.delivered:
            await self._kv.put(key, SENT)
        else:
            await self._kv.delete(key)  # it did not go out: the next attempt may send
        return attempt
