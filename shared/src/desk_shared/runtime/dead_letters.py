"""Keeping what a consumer could not process: the message, why, and where it came from."""

from __future__ import annotations

import logging

from nats.aio.msg import Msg

from desk_shared.contracts import subjects
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)


class DeadLetters:
    """Publishes to `desk.deadletter.<consumer>` in the dead-letter stream, with the reason and
    source sequence in headers; the Msg-Id (consumer and source) keeps it there once."""

    def __init__(self, publisher: EventPublisher, settings: BusSettings, consumer: str) -> None:
        self._publisher = publisher
        self._stream = settings.dead_letter_stream_name
        self._consumer = consumer

    async def put(self, msg: Msg, reason: str) -> None:
        meta = msg.metadata
        source = f"{meta.stream}:{meta.sequence.stream}"
        headers = {"Desk-Dead-Letter-Reason": reason[:1000], "Desk-Consumer": self._consumer,
                   "Desk-Source": source, "Desk-Source-Subject": msg.subject}
        await self._publisher.publish_raw(subjects.dead_letter_subject(self._consumer), msg.data,
                                          f"{self._consumer}:{source}", headers, stream=self._stream)
        log.error("dead-lettered %s (%s) for %s: %s", source, msg.subject, self._consumer, reason)
