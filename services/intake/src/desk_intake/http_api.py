"""The HTTP entry point: POST /v1/reports, GET /health, the OpenAPI docs. Every error is an
RFC 9457 problem document.

`HttpDoors` is the ASGI app uvicorn serves: POST /v1/reports goes straight to the lean
`ReportsEndpoint` (see reports_endpoint.py for why), everything else to FastAPI, which also
documents POST /v1/reports (by hand, `openapi_extra`, from the same models)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from desk_intake.problems import PROBLEM, Problem, invalid, malformed, problem
from desk_intake.reports_endpoint import MAX_KEY_HEADER_CHARS, receive_report
from desk_intake.submission import FieldProblem, SubmitReport, field_problems

REPORTS_PATH = "/v1/reports"


class Accepted(BaseModel):
    report_id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    duplicate: bool
    sequence: int


def _inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` references replaced by the definitions."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


router = APIRouter()
_errors: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}} for code in (400, 401, 403, 409, 413, 422, 429, 503)
}
agency_key = HTTPBearer(scheme_name="agencyKey", auto_error=False,
                        description="The agency's API key (dpk_...), issued with `desk-access issue`.")
_documented_request: dict[str, Any] = {
    "parameters": [{"name": "idempotency-key", "in": "header", "required": False,
                    "schema": {"type": "string", "maxLength": MAX_KEY_HEADER_CHARS, "title": "Idempotency-Key"}}],
    "requestBody": {"required": True,
                    "content": {"application/json": {"schema": _inline_defs(SubmitReport.model_json_schema())}}},
}


@router.post(REPORTS_PATH, status_code=202, response_model=Accepted, responses=_errors,
             summary="Submit an incident report", openapi_extra=_documented_request,
             dependencies=[Depends(agency_key)])
async def submit_report(request: Request) -> Response:
    """Validate a report and append it to the log as ReportSubmitted.

    202 means the report is in the log (durably). The same idempotency key (header or
    field) of the same agency gives the same report id and nothing new (`duplicate: true`);
    the same key with a different report gets 409.
    The agency is the one the API key belongs to; a report outside its areas gets 403."""
    return await receive_report(request.app.state, await request.body(), request.headers.get("content-type"),
                                request.headers.get("idempotency-key"), request.headers.get("authorization"),
                                request.client.host if request.client else "unknown")


@router.get("/health", summary="Liveness and connection to the event log")
async def health(request: Request) -> JSONResponse:
    connected = request.app.state.connected()
    return JSONResponse({"status": "ok" if connected else "degraded", "nats_connected": connected},
                        status_code=200 if connected else 503)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return malformed([FieldProblem("body", str(e.get("ctx", {}).get("error", e["msg"]))) for e in errors])
        return invalid(field_problems(errors))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail), headers=exc.headers)


class HttpDoors:
    """POST /v1/reports to `reports`, every other request (and the lifespan) to `app`."""

    def __init__(self, app: FastAPI, reports: ASGIApp) -> None:
        self.app = app
        self.reports = reports

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"].removeprefix(scope.get("root_path", "")) == REPORTS_PATH):
            await self.reports(scope, receive, send)
        else:
            await self.app(scope, receive, send)
