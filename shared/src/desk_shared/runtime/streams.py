"""The JetStream streams: the event log and the dead-letter stream, created idempotently.

The log is for auditors: file storage, no age or size limit, delete and purge denied.
Whichever service starts first creates a stream; the others find it. A stream that exists
with a different shape is reported loudly and left alone: changing it is an operator's
decision (services get no STREAM.UPDATE permission in production)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RawStreamMsg, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from desk_shared.contracts import subjects
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

_CHECKED = ("subjects", "storage", "retention", "deny_delete", "deny_purge", "num_replicas", "max_age",
            "allow_atomic")


def event_stream(settings: BusSettings) -> StreamConfig:
    return _audit_stream(settings, settings.stream_name, subjects.ALL_EVENTS,
                         "Desk Pemilu event log: every fact, append-only.")


def dead_letter_stream(settings: BusSettings) -> StreamConfig:
    return _audit_stream(settings, settings.dead_letter_stream_name, subjects.ALL_DEAD_LETTERS,
                         "Messages a consumer could not process, kept for review.")


def _audit_stream(settings: BusSettings, name: str, subject: str, description: str) -> StreamConfig:
    return StreamConfig(
        name=name,
        description=description,
        subjects=[subject],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=0,
        max_msgs=-1,
        max_bytes=-1,
        num_replicas=settings.stream_replicas,
        duplicate_window=settings.duplicate_window_seconds,
        deny_delete=True,
        deny_purge=True,
        allow_direct=True,
        allow_atomic=True,
    )


async def ensure_stream(js: JetStreamContext, wanted: StreamConfig) -> StreamInfo:
    """Create the stream if it is missing; report any difference from the wanted shape."""
    assert wanted.name
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        try:
            info = await js.add_stream(wanted)
            log.info("created stream %s (%s)", wanted.name, ", ".join(wanted.subjects or []))
            return info
        except BadRequestError:  # another service created it at the same moment
            info = await js.stream_info(wanted.name)
    if wanted.allow_atomic and not info.config.allow_atomic:
        info = await _allow_atomic(js, info)
    drift = {k: (getattr(info.config, k), getattr(wanted, k)) for k in _CHECKED
             if getattr(info.config, k) != getattr(wanted, k)}
    if drift:
        log.error("stream %s differs from its definition (have, want): %s", wanted.name, drift)
    else:
        log.debug("stream %s verified (%d messages)", wanted.name, info.state.messages)
    return info


async def _allow_atomic(js: JetStreamContext, info: StreamInfo) -> StreamInfo:
    """A stream made before atomic appends were used gets them (only its operator may change it)."""
    try:
        return await js.update_stream(replace(info.config, allow_atomic=True))
    except NatsError as exc:
        log.error("stream %s does not allow atomic appends and could not be changed (%r): its operator must set "
                  "allow_atomic (`./desk up` does it for its embedded server)", info.config.name, exc)
        return info


async def ensure_streams(js: JetStreamContext, settings: BusSettings) -> StreamInfo:
    """Both streams in place; returns the event stream's info."""
    await ensure_stream(js, dead_letter_stream(settings))
    return await ensure_stream(js, event_stream(settings))


async def streams_ready(js: JetStreamContext, settings: BusSettings, retry_seconds: float = 1.0) -> StreamInfo:
    """`ensure_streams`, retried while JetStream does not answer yet (a cluster still electing
    its meta leader when a service starts with it): a service waits instead of exiting."""
    while True:
        try:
            return await ensure_streams(js, settings)
        except (NatsTimeoutError, NoRespondersError, ServiceUnavailableError) as exc:
            log.warning("JetStream not ready (%r); retrying in %.0f s", exc, retry_seconds)
            await asyncio.sleep(retry_seconds)


async def message_at(js: JetStreamContext, stream: str, seq: int) -> RawStreamMsg | None:
    """The message stored at `seq` of `stream` (a direct get); None if the log does not hold it."""
    try:
        return await js.get_msg(stream, seq, direct=True)
    except NotFoundError:
        return None
