"""GET /laporan/harian: the daily situation report of the person's areas, as a PDF to print."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from desk_access.http_guard import AUTH_RESPONSES, requires
from desk_projection.daily.facts import read_day_from
from desk_projection.daily.pdf import render
from desk_projection.settings import DESK_TIME_ZONE
from desk_shared.access.people import Capability, Principal
from desk_shared.contracts.regions import RegionDirectory

DESK_TZ = DESK_TIME_ZONE
"""The desk's day runs midnight to midnight WIB."""
EARLIEST = date(2000, 1, 1)
"""No election the desk handles is older: an earlier date is a typing mistake."""

Reader = Annotated[Principal, Depends(requires(Capability.READ_BOARD))]


def regency_title(directory: RegionDirectory, codes: frozenset[str]) -> str:
    """'Kabupaten Gayo Lues' for the desk's regency (several joined; 'Indonesia' for none configured)."""
    names = [directory.regencies[c].name if c in directory.regencies else c for c in sorted(codes)]
    return ", ".join(names) or "Indonesia"


def check_day(day: date, today: date) -> str | None:
    """Why `day` cannot have a report (None: it can)."""
    if day > today:
        return f"tanggal {day.isoformat()} is in the future (today is {today.isoformat()} in Asia/Jakarta)"
    if day < EARLIEST:
        return f"tanggal {day.isoformat()} is before {EARLIEST.isoformat()}: no report exists for it"
    return None


def daily_report_router(engine: Engine, directory: RegionDirectory, regency_codes: frozenset[str],
                        clock: Callable[[], datetime] | None = None) -> APIRouter:
    """The report's route over `engine` (a reading engine); `regency_codes` are the desk's regencies,
    whose quiet kecamatan are listed too; `clock`: what "now" is (an archive's moment; default the
    wall clock)."""
    router = APIRouter(tags=["situation"])
    title = regency_title(directory, regency_codes)

    @router.get("/laporan/harian", response_class=Response, responses={
        200: {"content": {"application/pdf": {}}, "description": "The report (A4, Bahasa Indonesia)"},
        **AUTH_RESPONSES})
    async def daily_report(principal: Reader, tanggal: Annotated[date | None, Query(
            description="The day (YYYY-MM-DD, WIB); today when absent.", examples=["2024-11-27"])] = None) -> Response:
        """The 'Laporan situasi harian' of the person's areas for Bupati and Forkopimda: the situation
        per kecamatan, the day's key numbers, its kritis and tinggi incidents with what was done, and
        what is still open. Personal data in report texts is masked."""
        generated = clock() if clock is not None else datetime.now(UTC)
        day = tanggal or generated.astimezone(DESK_TZ).date()
        problem = check_day(day, generated.astimezone(DESK_TZ).date())
        if problem is not None:
            raise RequestValidationError([{"type": "value_error", "loc": ("query", "tanggal"), "msg": problem,
                                           "input": tanggal.isoformat() if tanggal else None}])
        facts = await run_in_threadpool(read_day_from, engine, day, DESK_TZ, principal.areas, directory,
                                        regencies=regency_codes, now=generated)
        document = await run_in_threadpool(render, facts, title, generated)
        return Response(document, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="laporan-situasi-{day.isoformat()}.pdf"',
            "Cache-Control": "no-store"})  # the situation of the person's areas: not for shared caches

    return router
