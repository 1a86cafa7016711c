"""POST /v1/reports, the hot path: parsed, checked and answered without FastAPI's machinery.

FastAPI's per-request work (routing, middleware, dependency solving, body decoding,
response-model validation) cost more CPU than the report itself, and with fsync on every
write the CPU a request holds the event loop for is what limits a worker under load. So
the dispatcher in `http_api` hands this one route to `ReportsEndpoint`, a plain ASGI app:
the body is validated once by pydantic (`model_validate_json`) and the answer is written as
bytes. The FastAPI route of the same path documents it and answers through the same
`receive_report`, so both give the same answers.

Every report needs an agency's API key (`Authorization: Bearer dpk_...`), checked against the
registry this worker folds from the log (`state.registry()`); the agency is the key's, and
the report must be inside its areas (else 403)."""

from __future__ import annotations

import logging
import uuid
from email.message import Message as MimeMessage

from pydantic import ValidationError
from starlette.datastructures import State
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from desk_intake.problems import (
    forbidden,
    invalid,
    key_reused,
    log_unavailable,
    malformed,
    too_many,
    unauthenticated,
)
from desk_intake.receiving import Intake
from desk_intake.submission import FieldProblem, KeyReused, OutsideAreas, Rejected, SubmitReport, field_problems
from desk_shared.access.registry import Agency, Denied, authenticate
from desk_shared.runtime.publisher import PublishFailed

log = logging.getLogger(__name__)

MAX_KEY_HEADER_CHARS = 200
NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (`application/json`, `...+json`), as FastAPI decides it."""
    if not content_type:
        return False
    if content_type == "application/json":
        return True
    message = MimeMessage()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def parse_report(body: bytes, content_type: str | None, key_header: str | None) -> SubmitReport | JSONResponse:
    """The report in a request, or the problem document that says why not (400, or 422 with every field)."""
    problems: list[FieldProblem] = []
    if key_header is not None and len(key_header) > MAX_KEY_HEADER_CHARS:
        problems.append(FieldProblem("header.idempotency-key",
                                     f"String should have at most {MAX_KEY_HEADER_CHARS} characters"))
    report: SubmitReport | None = None
    if not body:
        problems.append(FieldProblem("body", "Field required"))
    elif not is_json(content_type):
        problems.append(FieldProblem("body", NOT_AN_OBJECT))
    else:
        try:
            report = SubmitReport.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if any(e["type"] == "json_invalid" for e in errors):
                return malformed([FieldProblem("body", str(e.get("ctx", {}).get("error", e["msg"]))) for e in errors])
            problems += field_problems(errors)
    if problems or report is None:
        return invalid(problems)
    return report


def accepted(report_id: uuid.UUID, duplicate: bool, sequence: int) -> Response:
    flag = "true" if duplicate else "false"
    body = f'{{"report_id":"{report_id}","status":"accepted","duplicate":{flag},"sequence":{sequence}}}'
    return Response(body.encode(), status_code=202, media_type="application/json")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authenticated(state: State, authorization: str | None, client: str) -> Agency | Response:
    """The agency whose key the request carries, or the 401 that says why not (naming the key
    id only), or 429 once `client` failed too often within a minute."""
    found = authenticate(state.registry(), bearer_token(authorization))
    if isinstance(found, Denied):
        log.info("refused a report from %s: %s%s", client, found.reason,
                 f" (key {found.key_id})" if found.key_id else "")
        if wait := state.throttle.failed(client):
            return too_many(wait, f"Too many failed authentications from {client}; wait before trying again.")
        return unauthenticated(found.reason)
    if wait := state.throttle.take(found.code):
        return too_many(wait, f"Agency {found.code} is sending reports faster than this desk accepts.")
    return found


async def receive_report(state: State, body: bytes, content_type: str | None, key_header: str | None,
                         authorization: str | None, client: str) -> Response:
    """The whole of POST /v1/reports once the body is read: 401 (or 429) before anything else
    without a valid key; 202 only after the log acknowledged the report."""
    agency = authenticated(state, authorization, client)
    if isinstance(agency, Response):
        return agency
    parsed = parse_report(body, content_type, key_header)
    if isinstance(parsed, Response):
        return parsed
    intake: Intake = state.intake
    try:
        receipt = await intake.submit(parsed, channel="http", agency=agency.code, header_key=key_header,
                                      areas=agency.areas)
    except Rejected as exc:
        return invalid(exc.problems, detail=str(exc))
    except OutsideAreas as exc:
        return forbidden(str(exc))
    except KeyReused as exc:
        return key_reused(str(exc))
    except PublishFailed:
        return log_unavailable(state.settings.retry_after_seconds)
    return accepted(receipt.report_id, receipt.duplicate, receipt.sequence)


class ReportsEndpoint:
    """ASGI app serving POST /v1/reports (behind `BodySizeLimit`); `state` is the FastAPI app's."""

    def __init__(self, state: State) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        content_type = key_header = authorization = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"idempotency-key":
                key_header = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        client = scope.get("client") or ("unknown", 0)
        response = await receive_report(self.state, b"".join(chunks), content_type, key_header, authorization,
                                        client[0])
        await response(scope, receive, send)
