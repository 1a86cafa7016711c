"""Accepting a submission: check it, append ReportSubmitted, answer with a receipt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from desk_intake.submission import SubmitReport, accept
from desk_shared.contracts.agencies import Areas
from desk_shared.runtime.publisher import EventPublisher


@dataclass(frozen=True)
class Receipt:
    report_id: uuid.UUID
    duplicate: bool
    sequence: int


class Intake:
    """Shared by the HTTP and NATS entry points: same checks, same event, same answer.

    Raises `Rejected` for a submission the desk does not accept, `OutsideAreas` for one the
    agency may not make, and `PublishFailed` when the log did not acknowledge it (then nothing
    was accepted)."""

    def __init__(self, publisher: EventPublisher, scope: frozenset[str]) -> None:
        self._publisher = publisher
        self._scope = scope

    async def submit(self, report: SubmitReport, *, channel: Literal["http", "nats"], agency: str | None = None,
                     header_key: str | None = None, areas: Areas | None = None) -> Receipt:
        event = accept(report, channel=channel, agency=agency, header_key=header_key, scope=self._scope, areas=areas)
        ack = await self._publisher.publish(event)
        return Receipt(report_id=event.payload.report_id, duplicate=bool(ack.duplicate), sequence=ack.seq)
