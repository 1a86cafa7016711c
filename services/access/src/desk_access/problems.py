"""RFC 9457 problem documents for the people-facing APIs: every HTTP error they raise (401, 403,
404, 503, ...) answers as `application/problem+json` with a title and the reason."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM = "application/problem+json"


def problem(status: int, detail: str, headers: dict[str, str] | None = None, title: str | None = None) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title or HTTPStatus(status).phrase, "status": status,
                         "detail": detail}, status_code=status, media_type=PROBLEM, headers=headers)


def still_starting(service: str) -> HTTPException:
    """What a service's API answers before it has read the log it decides on (503, try again soon)."""
    return HTTPException(503, f"{service} is still reading the log; try again", headers={"Retry-After": "2"})


def install(app: FastAPI) -> None:
    async def answer(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return problem(exc.status_code, str(exc.detail), dict(exc.headers) if exc.headers else None)

    app.add_exception_handler(HTTPException, answer)
