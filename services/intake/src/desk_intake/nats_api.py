"""The NATS entry point: request-reply on `desk.intake.<agency>.report`.

The reply is JSON: `{"status": "accepted", "report_id", "duplicate", "sequence"}`,
`{"status": "rejected", "errors": [{"field", "message"}]}`, `{"status": "forbidden", "detail"}`
(outside the agency's areas), `{"status": "throttled", "retry_after": seconds}` (the agency
sends too fast) or `{"status": "unavailable", "retry_after": seconds}`. The agency
is the subject's token and must be registered (NATS permissions will restrict each agency's
user to its own subject: issue 15).

Requests are answered concurrently: each one waits mostly for JetStream's acknowledgement
(an fsync), so one at a time would cap the door at a few hundred per second. A plain nats-py
subscription hands each message to its own task, at most `nats_max_in_flight` at once; past
that the subscription's callback waits and messages queue in the client (a requester that
gives up meanwhile simply retries)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from desk_intake.receiving import Intake
from desk_intake.settings import IntakeSettings
from desk_intake.submission import FieldProblem, KeyReused, OutsideAreas, Rejected, SubmitReport, field_problems
from desk_intake.throttle import Throttle
from desk_shared.access.registry import Registry
from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AGENCY_CODE_PATTERN
from desk_shared.runtime.publisher import PublishFailed

log = logging.getLogger(__name__)

_AGENCY = re.compile(AGENCY_CODE_PATTERN)


def rejected(problems: list[FieldProblem]) -> dict[str, Any]:
    return {"status": "rejected", "errors": [{"field": p.field, "message": p.message} for p in problems]}


async def answer(intake: Intake, registry: Registry, throttle: Throttle, settings: IntakeSettings, subject: str,
                 body: bytes, headers: dict[str, str] | None) -> dict[str, Any]:
    """The reply to one request on `subject` (same checks and event as the HTTP door)."""
    code = subjects.agency_of_intake_subject(subject)
    if not _AGENCY.match(code):
        return rejected([FieldProblem("subject", f"invalid agency {code!r} in the subject")])
    agency = registry.agencies.get(code)
    if agency is None:
        return rejected([FieldProblem("subject", f"agency {code!r} is not registered")])
    if wait := throttle.take(code):
        return {"status": "throttled", "retry_after": max(1, math.ceil(wait))}
    if len(body) > settings.max_body_bytes:
        return rejected([FieldProblem("body", f"exceeds {settings.max_body_bytes} bytes")])
    try:
        report = SubmitReport.model_validate_json(body)
    except ValidationError as exc:
        return rejected(field_problems(exc.errors(include_url=False)))
    try:
        receipt = await intake.submit(report, channel="nats", agency=code, areas=agency.areas,
                                      header_key=(headers or {}).get("Idempotency-Key"))
    except Rejected as exc:
        return rejected(exc.problems)
    except OutsideAreas as exc:
        return {"status": "forbidden", "detail": str(exc)}
    except KeyReused as exc:
        return rejected([FieldProblem("idempotency_key", str(exc))])
    except PublishFailed:
        return {"status": "unavailable", "retry_after": settings.retry_after_seconds}
    return {"status": "accepted", "report_id": str(receipt.report_id), "duplicate": receipt.duplicate,
            "sequence": receipt.sequence}


class NatsDoor:
    """Serves `desk.intake.*.report` in the queue group, many requests at once (bounded)."""

    def __init__(self, nc: Client, intake: Intake, registry: Callable[[], Registry], settings: IntakeSettings,
                 throttle: Throttle | None = None) -> None:
        self._nc = nc
        self._throttle = throttle or Throttle.from_settings(settings)
        self._intake = intake
        self._registry = registry
        self._settings = settings
        self._slots = asyncio.Semaphore(settings.nats_max_in_flight)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(subjects.INTAKE_REPORTS, queue=self._settings.nats_queue_group,
                                                      cb=self._dispatch)
        await self._nc.flush()  # the server knows the subscription before intake says it is serving

    async def stop(self, grace_seconds: float) -> None:
        """No new requests; those in flight get up to `grace_seconds` to be answered."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
            with contextlib.suppress(Exception):  # the server routes no more requests here once it returns
                await self._nc.flush()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_seconds)

    async def _dispatch(self, msg: Msg) -> None:
        await self._slots.acquire()  # all slots busy: the subscription waits, its messages queue
        task = asyncio.create_task(self._serve(msg))
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _serve(self, msg: Msg) -> None:
        try:
            reply = await answer(self._intake, self._registry(), self._throttle, self._settings, msg.subject, msg.data,
                                 msg.headers)
            if msg.reply:  # a plain publish is served too; it just gets no answer
                await msg.respond(json.dumps(reply).encode())
        except Exception:  # a bug or a lost connection: the requester times out and may retry
            log.exception("request on %s not answered", msg.subject)
