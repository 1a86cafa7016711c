"""One stored message of the log as the seals cover it: sequence, stored time, subject, headers, data.

A leaf of the tree is the canonical encoding of a message (lengths first, so no two messages
encode alike). Headers are those that carry meaning to a reader: `Nats-Msg-Id` and any that are
not NATS's own. The control headers a publisher sends (`Nats-Expected-*`, `Nats-Batch-*`) are
left out: a JetStream mirror does not keep them, and a seal must verify on the auditors' mirror
as on the original. The time is the server's, in nanoseconds since 1970 (a mirror keeps it).

A message reaches a verifier from an ordered consumer, a direct get or an export line; all three
give the same `StoredMessage`, hence the same leaf."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

KEPT_NATS_HEADERS = frozenset({"Nats-Msg-Id"})
LEAF_PREFIX = b"\x00desk-pemilu/leaf/v1\n"
"""RFC 9162's leaf prefix (0x00), then a tag naming the encoding."""


def kept_headers(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if not headers:
        return ()
    kept = [(k, v) for k, v in headers.items() if k in KEPT_NATS_HEADERS or not k.startswith("Nats-")]
    if len(kept) > 1:
        kept.sort()
    return tuple(kept)


class StoredMessage(NamedTuple):
    seq: int
    time_ns: int
    subject: str
    headers: tuple[tuple[str, str], ...]
    data: bytes

    def leaf(self) -> bytes:
        """The leaf's hash: SHA-256(0x00 || encoding), the encoding lengths first."""
        subject = self.subject.encode()
        headers = b"".join([b"%s: %s\n" % (k.encode(), v.encode()) for k, v in self.headers])
        return hashlib.sha256(b"".join((LEAF_PREFIX, struct.pack(">QQI", self.seq, self.time_ns, len(subject)),
                                        subject, struct.pack(">I", len(headers)), headers, self.data))).digest()

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ns // 1_000_000_000, UTC).replace(
            microsecond=(self.time_ns % 1_000_000_000) // 1000)

    def export(self) -> dict[str, Any]:
        """The message as an export line's fields: the data as text when it is UTF-8 (events are), else base64."""
        found: dict[str, Any] = {"seq": self.seq, "time": rfc3339_ns(self.time_ns), "subject": self.subject,
                                 "headers": dict(self.headers)}
        try:
            found["data"] = self.data.decode()
        except UnicodeDecodeError:
            found["data_base64"] = base64.b64encode(self.data).decode()
        return found

    @classmethod
    def from_export(cls, line: Mapping[str, Any]) -> StoredMessage:
        """From an export line; raises ValueError naming what is wrong."""
        try:
            seq, subject, headers = line["seq"], line["subject"], line.get("headers") or {}
            data = (line["data"].encode() if "data" in line else base64.b64decode(line["data_base64"], validate=True))
            time_ns = parse_rfc3339_ns(line["time"])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a stored message: {exc!r}") from exc
        if not isinstance(seq, int) or seq < 1 or not isinstance(subject, str) or not isinstance(headers, dict):
            raise ValueError("not a stored message: seq, subject or headers of the wrong kind")
        return cls(seq, time_ns, subject, kept_headers(headers), data)


def rfc3339_ns(time_ns: int) -> str:
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def parse_rfc3339_ns(text: str) -> int:
    """`2026-12-07T19:13:44.176549192Z` (as NATS writes it, any number of fraction digits) in ns."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"not a UTC time: {text!r}")
    whole, _, fraction = text[:-1].partition(".")
    if not fraction.isdigit() and fraction:
        raise ValueError(f"not a time: {text!r}")
    return _seconds(whole) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


@lru_cache(maxsize=4096)
def _seconds(whole: str) -> int:
    """Whole seconds since 1970 (cached: a log's neighbouring messages share their second)."""
    return int(datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


def from_consumer(subject: str, reply: str, headers: Mapping[str, str] | None, data: bytes) -> StoredMessage:
    """From a message of an ordered consumer: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`,
    or on servers that name a domain `$JS.ACK.<domain>.<account>.<stream>...<pending>[.<token>]`."""
    tokens = reply.split(".")
    at = 5 if len(tokens) == 9 else 7
    return StoredMessage(int(tokens[at]), int(tokens[at + 2]), subject, kept_headers(headers), data)


def from_direct_get(subject: str, seq: int, headers: Mapping[str, str] | None, data: bytes) -> StoredMessage:
    """From a direct get, whose headers carry the stored time (`Nats-Time-Stamp`)."""
    stamp = (headers or {}).get("Nats-Time-Stamp")
    if stamp is None:
        raise ValueError(f"seq {seq}: no Nats-Time-Stamp in a direct get's answer")
    return StoredMessage(seq, parse_rfc3339_ns(stamp), subject, kept_headers(headers), data)

