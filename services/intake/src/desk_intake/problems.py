"""RFC 9457 problem documents, the body of every HTTP error intake answers."""

from __future__ import annotations

import math

from pydantic import BaseModel
from starlette.responses import JSONResponse

from desk_intake.submission import FieldProblem

PROBLEM = "application/problem+json"


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


def invalid(problems: list[FieldProblem], detail: str | None = None) -> JSONResponse:
    """422: the report is well-formed JSON, but these fields are not acceptable."""
    return problem(422, "invalid-report", "Invalid report", detail or f"{len(problems)} field(s) invalid", problems)


def malformed(problems: list[FieldProblem]) -> JSONResponse:
    """400: the body is not JSON at all."""
    return problem(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.", problems)


def too_large(limit: int) -> JSONResponse:
    return problem(413, "too-large", "Request too large", f"The body exceeds {limit} bytes.")


def log_unavailable(retry_after_seconds: int) -> JSONResponse:
    return problem(503, "log-unavailable", "Event log unavailable",
                   "The report could not be stored; nothing was accepted. Retry with the same idempotency key.",
                   headers={"Retry-After": str(retry_after_seconds)})


def unauthenticated(reason: str) -> JSONResponse:
    """401: no valid API key; nothing was read further."""
    return problem(401, "unauthenticated", "API key required",
                   f"{reason[:1].upper()}{reason[1:]}. Send the agency's key as 'Authorization: Bearer dpk_...'.",
                   headers={"WWW-Authenticate": 'Bearer realm="desk-pemilu intake"'})


def forbidden(reason: str) -> JSONResponse:
    """403: the key is valid, but its agency may not do this."""
    return problem(403, "outside-area", "Outside the agency's areas", reason)


def key_reused(reason: str) -> JSONResponse:
    """409: the idempotency key already names another report; nothing new was stored."""
    return problem(409, "key-reused", "Idempotency key already used", reason)


def too_many(retry_after_seconds: float, detail: str) -> JSONResponse:
    """429: slow down; nothing was stored."""
    return problem(429, "too-many-requests", "Too many requests", detail,
                   headers={"Retry-After": str(max(1, math.ceil(retry_after_seconds)))})
