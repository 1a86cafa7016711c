"""The NATS entry point: request-reply on `desk.intake.<agency>.report`.

The reply is JSON: `{"status": "accepted", "report_id", "duplicate", "sequence"}`,
`{"status": "rejected", "errors": [{"field", "message"}]}` or
`{"status": "unavailable", "retry_after": seconds}`. The agency is the subject's token
(NATS permissions will restrict each agency to its own subject)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from faststream.nats import NatsBroker, NatsMessage
from pydantic import ValidationError

from desk_intake.receiving import Intake
from desk_intake.settings import IntakeSettings
from desk_intake.submission import FieldProblem, Rejected, SubmitReport, field_problems
from desk_shared.contracts import subjects
from desk_shared.runtime.publisher import PublishFailed

_AGENCY = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")


def rejected(problems: list[FieldProblem]) -> dict[str, Any]:
    return {"status": "rejected", "errors": [{"field": p.field, "message": p.message} for p in problems]}


def register(broker: NatsBroker, settings: IntakeSettings, intake: Callable[[], Intake]) -> None:
    @broker.subscriber(subjects.INTAKE_REPORTS, queue=settings.nats_queue_group,
                       title="desk.intake.<agency>.report", description="Submit a report; the reply says why not.")
    async def on_report(msg: NatsMessage) -> dict[str, Any]:
        agency = subjects.agency_of_intake_subject(msg.raw_message.subject)
        if not _AGENCY.match(agency):
            return rejected([FieldProblem("subject", f"invalid agency {agency!r} in the subject")])
        if len(msg.body) > settings.max_body_bytes:
            return rejected([FieldProblem("body", f"exceeds {settings.max_body_bytes} bytes")])
        try:
            report = SubmitReport.model_validate_json(msg.body)
        except ValidationError as exc:
            return rejected(field_problems(exc.errors(include_url=False)))
        try:
            receipt = await intake().submit(report, channel="nats", agency=agency,
                                            header_key=(msg.headers or {}).get("Idempotency-Key"))
        except Rejected as exc:
            return rejected(exc.problems)
        except PublishFailed:
            return {"status": "unavailable", "retry_after": settings.retry_after_seconds}
        return {"status": "accepted", "report_id": str(receipt.report_id), "duplicate": receipt.duplicate,
                "sequence": receipt.sequence}
