"""One attempt to send an alert by SMS or WhatsApp through an HTTP gateway.

The gateway's API, as this desk expects it (most providers offer the same two calls):
`POST <url>/messages` with `{"channel": "sms"|"whatsapp", "to", "text", "reference"}` and a bearer
token, answering 2xx once the message is accepted; `GET <url>/messages/<reference>` answering 200
if a message with that reference was accepted, 404 if not. The reference (the alert's id and
the channel) lets the desk ask, after a crash between sending and recording, whether the message
went out, instead of sending it twice."""

from __future__ import annotations

import aiohttp

from desk_notify.channels.attempt import Attempt


class GatewaySender:
    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None) -> None:
        self._session = session
        self._url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def send(self, channel: str, to: str, text: str, reference: str) -> Attempt:
        body = {"channel": channel, "to": to, "text": text, "reference": reference}
        try:
            async with self._session.post(f"{self._url}/messages", json=body, headers=self._headers) as response:
                await response.read()
                return Attempt.http(response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt.no_answer(exc)

    async def accepted(self, reference: str) -> bool | None:
        """Whether the gateway accepted a message with `reference` (None: it cannot say now)."""
        try:
            async with self._session.get(f"{self._url}/messages/{reference}", headers=self._headers) as response:
                await response.read()
                return True if response.status == 200 else False if response.status == 404 else None
        except (aiohttp.ClientError, TimeoutError):
            return None
