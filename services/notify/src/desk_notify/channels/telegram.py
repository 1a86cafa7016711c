"""One attempt to send an alert through the Telegram Bot API (`sendMessage`).

The Bot API has no idempotency key: the caller records the attempt before sending (see
`desk_notify.deliveries`). `api_url` is a setting, so tests and a self-hosted Bot API server
work the same way."""

from __future__ import annotations

import aiohttp

from desk_notify.channels.attempt import Attempt


class TelegramSender:
    def __init__(self, session: aiohttp.ClientSession, api_url: str, bot_token: str) -> None:
        self._session = session
        self._endpoint = f"{api_url.rstrip('/')}/bot{bot_token}/sendMessage"

    async def send(self, chat_id: str, text: str) -> Attempt:
        body = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
        try:
            async with self._session.post(self._endpoint, json=body) as response:
                answer = await response.json(content_type=None)
                detail = answer.get("description") if isinstance(answer, dict) else None
                return Attempt.http(response.status, detail)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Attempt.no_answer(exc)
