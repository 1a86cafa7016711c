"""Reading the stored events of a few types, in log order: how a small state (the access
registry) is rebuilt from the log at start."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from nats.js import JetStreamContext

from desk_shared.contracts.envelope import Event, UndecodableEvent, UnknownEventType, decode_event

log = logging.getLogger(__name__)


async def stored_events(js: JetStreamContext, stream: str, types: Sequence[type[Event]]) -> list[Event]:
    """Every event of `types` stored in `stream` now, oldest first. One ordered consumer per
    type (nats-server 2.9 knows one filter subject per consumer); a message that cannot be
    decoded is skipped with a warning (it is in the log for an auditor to see)."""
    found: list[tuple[int, Event]] = []
    for cls in types:
        info = await js.stream_info(stream, subjects_filter=cls.subject)
        total = sum((info.state.subjects or {}).values())
        if not total:
            continue
        sub = await js.subscribe(cls.subject, stream=stream, ordered_consumer=True)
        try:
            for _ in range(total):
                msg = await sub.next_msg(timeout=10)
                try:
                    found.append((msg.metadata.sequence.stream, decode_event(msg.data)))
                except (UndecodableEvent, UnknownEventType) as exc:
                    log.warning("skipped message %d on %s: %s", msg.metadata.sequence.stream, msg.subject, exc)
        finally:
            await sub.unsubscribe()
    return [event for _, event in sorted(found, key=lambda pair: pair[0])]
