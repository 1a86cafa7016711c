"""The HTTP entry point: POST /v1/reports. Every error is an RFC 9457 problem document."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk_intake.receiving import Intake
from desk_intake.submission import FieldProblem, Rejected, SubmitReport, field_problems
from desk_shared.runtime.publisher import PublishFailed

PROBLEM = "application/problem+json"


class Accepted(BaseModel):
    report_id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    duplicate: bool
    sequence: int


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] = []


def problem(status: int, kind: str, title: str, detail: str, errors: list[FieldProblem] = (),  # type: ignore[assignment]
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": f"/problems/{kind}", "title": title, "status": status, "detail": detail,
            "errors": [{"field": p.field, "message": p.message} for p in errors]}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


router = APIRouter()
_errors: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}} for code in (400, 413, 422, 503)
}


@router.post("/v1/reports", status_code=202, response_model=Accepted, responses=_errors,
             summary="Submit an incident report")
async def submit_report(report: SubmitReport, request: Request,
                        idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
    """Validate a report and append it to the log as ReportSubmitted.

    202 means the report is in the log (durably). The same idempotency key (header or
    field) gives the same report id and nothing new (`duplicate: true`)."""
    intake: Intake = request.app.state.intake
    settings = request.app.state.settings
    try:
        receipt = await intake.submit(report, channel="http", header_key=idempotency_key)
    except Rejected as exc:
        return problem(422, "invalid-report", "Invalid report", str(exc), exc.problems)
    except PublishFailed:
        return problem(503, "log-unavailable", "Event log unavailable",
                       "The report could not be stored; nothing was accepted. Retry with the same idempotency key.",
                       headers={"Retry-After": str(settings.retry_after_seconds)})
    return Accepted(report_id=receipt.report_id, duplicate=receipt.duplicate, sequence=receipt.sequence)


@router.get("/health", summary="Liveness and connection to the event log")
async def health(request: Request) -> JSONResponse:
    connected = request.app.state.connected()
    return JSONResponse({"status": "ok" if connected else "degraded", "nats_connected": connected},
                        status_code=200 if connected else 503)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.",
                           [FieldProblem("body", str(e.get("ctx", {}).get("error", e["msg"]))) for e in errors])
        problems = field_problems(errors)
        return problem(422, "invalid-report", "Invalid report", f"{len(problems)} field(s) invalid", problems)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail))


class BodySizeLimit:
    """413 for a body over `limit` bytes, whether announced by Content-Length or streamed.

    The body is read here (it is small by definition) and handed on unchanged. An oversized
    body is read to its end (up to `drain` bytes) before the 413: a server that answers and
    closes while the client is still sending makes the client see a broken pipe, not the 413."""

    def __init__(self, app: ASGIApp, limit: int, drain: int) -> None:
        self.app = app
        self.limit = limit
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size <= self.limit:
                chunks.append(message.get("body", b""))
            elif not more or size > self.drain:
                await self._too_large(scope, receive, send)
                return
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "too-large", "Request too large", f"The body exceeds {self.limit} bytes.")
        await response(scope, receive, send)
