"""Accepting a submission: check it, append ReportSubmitted, answer with a receipt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from nats.js import JetStreamContext

from desk_intake.submission import KeyReused, SubmitReport, accept, same_report
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import UndecodableEvent, UnknownEventType, decode_event
from desk_shared.contracts.reports import ReportSubmitted
from desk_shared.privacy import SubjectKeys
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.streams import message_at


@dataclass(frozen=True)
class Receipt:
    report_id: uuid.UUID
    duplicate: bool
    sequence: int


class Intake:
    """Shared by the HTTP and NATS entry points: same checks, same event, same answer.

    Raises `Rejected` for a submission the desk does not accept, `OutsideAreas` for one the
    agency may not make, `KeyReused` when its idempotency key already names a different
    report, and `PublishFailed` when the log did not acknowledge it (then nothing was
    accepted)."""

    def __init__(self, publisher: EventPublisher, scope: frozenset[str], js: JetStreamContext, stream: str,
                 keys: SubjectKeys) -> None:
        self._publisher = publisher
        self._scope = scope
        self._js = js
        self._stream = stream
        self._keys = keys

    async def submit(self, report: SubmitReport, *, channel: Literal["http", "nats"], agency: str | None = None,
                     header_key: str | None = None, areas: Areas | None = None) -> Receipt:
        event = accept(report, channel=channel, agency=agency, header_key=header_key, scope=self._scope, areas=areas)
        if report.reporter is not None:  # the report is its reporter's data subject: its own key
            sealed = await self._keys.seal(str(event.payload.report_id), report.reporter)
            event = event.model_copy(update={"payload": event.payload.model_copy(update={"reporter": sealed})})
        ack = await self._publisher.publish(event)
        if ack.duplicate and not same_report(event, await self._stored(ack.seq)):
            raise KeyReused(f"idempotency key {event.payload.idempotency_key!r} was used by {event.payload.agency} "
                            f"for a different report (sequence {ack.seq}); use a new key for a new report")
        return Receipt(report_id=event.payload.report_id, duplicate=bool(ack.duplicate), sequence=ack.seq)

    async def _stored(self, seq: int) -> ReportSubmitted | None:
        """The report stored at `seq` (None if the log no longer holds it)."""
        msg = await message_at(self._js, self._stream, seq)
        try:
            stored = decode_event(msg.data or b"") if msg is not None else None
        except (UndecodableEvent, UnknownEventType):
            return None
        return stored if isinstance(stored, ReportSubmitted) else None
