"""One attempt to send an alert through the Telegram Bot API (`sendMessage`), and a liaison's
reply to it (the bot's webhook update) read as an acknowledgement.

The Bot API has no idempotency key: the caller records the attempt before sending (see
`desk_notify.deliveries`). `api_url` is a setting, so tests and a self-hosted Bot API server
work the same way."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


_CODE = re.compile(r"/ack/([A-Za-z0-9_-]{12})\b")


@dataclass(frozen=True)
class Reply:
    """A liaison's answer to an alert in Telegram: the link's code it answers, who, and where."""

    code: str
    sender: str
    chat_id: int | str


def reply_of(update: Mapping[str, Any]) -> Reply | None:
    """The acknowledgement in a Bot API update: a reply to an alert (its text holds the link), or a
    message that holds the link itself; None for anything else."""
    message = update.get("message")
    if not isinstance(message, Mapping):
        return None
    replied = message.get("reply_to_message")
    texts = [message.get("text"), replied.get("text") if isinstance(replied, Mapping) else None]
    found = next((m.group(1) for text in texts if isinstance(text, str) and (m := _CODE.search(text))), None)
    sender, chat = message.get("from"), message.get("chat")
    if found is None or not isinstance(sender, Mapping) or not isinstance(chat, Mapping) or "id" not in chat:
        return None
    return Reply(found, f"telegram:{sender.get('id')}", chat["id"])
