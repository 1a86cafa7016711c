"""The seals in the log: one read from its stored bytes, and every seal of a stream."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from desk_audit import source
from desk_audit.notes import Checkpoint, Note
from desk_shared.contracts.audit import AuditSealed, AuditSealedPayload
from desk_shared.contracts.envelope import UndecodableEvent, decode_event


@dataclass(frozen=True)
class Seal:
    seq: int
    """Where the seal is stored (after the range it covers)."""
    payload: AuditSealedPayload
    note: Note
    checkpoint: Checkpoint


def read_seal(seq: int, data: bytes) -> Seal:
    """The seal stored at `seq`; raises ValueError (an undecodable event, a note or checkpoint that
    cannot be read) naming what is wrong. Nothing is verified here."""
    event = decode_event(data)
    if not isinstance(event, AuditSealed):
        raise UndecodableEvent(f"a {event.event_type}, not an AuditSealed")
    note = Note.parse(event.payload.checkpoint)
    return Seal(seq, event.payload, note, Checkpoint.parse(note.body))


async def every_seal(js: JetStreamContext, stream: str) -> list[Seal]:
    end = await source.last_sequence(js, stream, AuditSealed.subject)
    return [read_seal(message.seq, message.data)
            async for batch in source.read(js, stream, 1, end, subject=AuditSealed.subject) for message in batch]
