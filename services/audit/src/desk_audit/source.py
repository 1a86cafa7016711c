"""Reading a stream's stored messages in sequence order (the log, or the auditors' mirror of it).

An ordered push consumer: no acknowledgements, nothing kept on the server, the server pushes as
fast as the reader takes (the fastest way nats-py reads, and what the read-only `auditor` user
may create). Messages come in batches, as `StoredMessage`s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from desk_audit.stored import StoredMessage, from_consumer, from_direct_get
from desk_shared.contracts import subjects


async def last_sequence(js: JetStreamContext, stream: str, subject: str | None = None) -> int:
    """The stream's last sequence, or that of the last message on one (literal) subject (0: none)."""
    if subject is None:
        return (await js.stream_info(stream)).state.last_seq
    try:
        found = await js.get_msg(stream, subject=subject, direct=True)
    except NotFoundError:
        return 0
    return found.seq or 0


async def read(js: JetStreamContext, stream: str, start: int, end: int, *, subject: str = subjects.ALL_EVENTS,
               idle_seconds: float = 10.0) -> AsyncIterator[list[StoredMessage]]:
    """Every message of `stream` on `subject` from `start` through `end` (stream sequences), in
    batches. A message missing from the stream (deleted) is simply not there: the caller sees the
    gap. Raises TimeoutError when nothing comes for `idle_seconds` before `end` is reached."""
    if end < start:
        return
    inbox: list[StoredMessage] = []
    arrived = asyncio.Event()
    done = False

    async def take(msg: Msg) -> None:
        nonlocal done
        found = from_consumer(msg.subject, msg.reply, msg.headers, msg.data)
        if found.seq <= end:
            inbox.append(found)
        if found.seq >= end:
            done = True
        arrived.set()

    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True, cb=take, config=config,
                             pending_msgs_limit=-1, pending_bytes_limit=-1)
    try:
        while True:
            if not inbox:
                async with asyncio.timeout(idle_seconds):
                    await arrived.wait()
            arrived.clear()
            batch, inbox = inbox, []
            if batch:
                yield batch
            if done and not inbox:
                return
            await asyncio.sleep(0)
    finally:
        await sub.unsubscribe()


async def message(js: JetStreamContext, stream: str, seq: int) -> StoredMessage | None:
    """One stored message by its sequence (a direct get); None if the stream does not hold it."""
    try:
        raw = await js.get_msg(stream, seq, direct=True)
    except NotFoundError:
        return None
    assert raw.subject is not None and raw.seq is not None
    return from_direct_get(raw.subject, raw.seq, raw.headers, raw.data or b"")
