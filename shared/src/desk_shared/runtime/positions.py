"""Where each durable consumer has finished in the log, kept apart from the consumer itself.

A JetStream consumer's state can vanish (an operator deletes it, a new server, a stream
restored from a backup). Recreated from sequence 1 it would re-emit every decision and
re-send every alert, and past the duplicate window JetStream no longer drops them. So each
consumer records its ack floor (every message at or below it is finished: acknowledged or
dead-lettered) in a key-value bucket, with a fingerprint of the message at that sequence; a
recreated consumer starts right after it if the log still holds that message there (the same
log, or the same log restored), and from the start of the log if not (another log).

Several replicas of a service share one consumer and one key: the recorded value only ever
moves forward (compare-and-set on the key's revision)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from desk_shared.runtime.buckets import open_bucket
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import message_at

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Position:
    seq: int
    """The last stream sequence finished; everything at or below it is done."""
    fingerprint: str
    """Of the message at `seq` (see `fingerprint`): tells whether a log is the one the sequence refers to."""

    def to_json(self) -> bytes:
        return json.dumps({"seq": self.seq, "fingerprint": self.fingerprint}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Position:
        raw = json.loads(data)
        return cls(seq=int(raw["seq"]), fingerprint=str(raw.get("fingerprint", "")))


def message_fingerprint(subject: str, data: bytes) -> str:
    """What tells one message of a log from another: a digest of its subject and data."""
    return hashlib.sha256(subject.encode() + b"\n" + data).hexdigest()[:32]


async def fingerprint(js: JetStreamContext, stream: str, seq: int) -> str | None:
    """A digest of the message at `seq` of `stream` (subject and data), None if there is none."""
    if seq <= 0:
        return ""
    msg = await message_at(js, stream, seq)
    return None if msg is None else message_fingerprint(msg.subject or "", msg.data or b"")


class PositionStore:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, settings: BusSettings) -> PositionStore:
        """The bucket, created on first use (file storage, replicated like the log)."""
        return cls(await open_bucket(js, settings.positions_bucket, settings,
                                     "Desk Pemilu: the log position each durable consumer has finished"))

    async def get(self, consumer: str) -> Position | None:
        try:
            entry = await self._kv.get(consumer)
        except KeyNotFoundError:
            return None
        return Position.from_json(entry.value) if entry.value else None

    async def advance(self, consumer: str, position: Position) -> bool:
        """Record `position` unless a later one is recorded; True if written."""
        for _ in range(5):  # another replica may write between our read and our update
            try:
                entry = await self._kv.get(consumer)
            except KeyNotFoundError:
                entry = None
            if entry is not None and entry.value:
                known = Position.from_json(entry.value)
                if known.seq >= position.seq:
                    return False
            try:
                if entry is None:
                    await self._kv.create(consumer, position.to_json())
                else:
                    await self._kv.update(consumer, position.to_json(), last=entry.revision)
                return True
            except (KeyWrongLastSequenceError, BadRequestError):
                continue
        log.warning("position of %s not recorded: the key kept changing", consumer)
        return False
