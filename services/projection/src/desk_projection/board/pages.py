"""The board's routes: the page (`/papan`), its live feed (`/v1/live/situation`, Server-Sent Events)
and its own files (`/static/...`). The page is the desk's: Bahasa Indonesia, no file from the
internet. A browser without a session gets a page saying so (401), never the board."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from desk_access.http_guard import AUTH_RESPONSES, SESSION_COOKIE, guard_of, requires
from desk_projection.board.layout import Layout
from desk_projection.board.live import SituationFeed, Snapshot
from desk_projection.responses import Situation
from desk_shared.access.guard import Refusal
from desk_shared.access.people import Capability, Principal
from desk_shared.contracts.agencies import AGENCY_NAMES, AgencyKind
from desk_shared.contracts.incidents import ClosingReason
from desk_shared.contracts.taxonomy import Category, Severity

STATIC = Path(str(files("desk_projection.board").joinpath("static")))
PAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No valid session: a page saying so", "content": {"text/html": {}}},
    503: {"description": "Credentials cannot be checked yet"}}
Reader = Annotated[Principal, Depends(requires(Capability.READ_BOARD))]


MENU = """<nav class="menu" aria-label="Menu">
  <a href="/papan">Papan</a> <a href="/antrean">Antrean instansi</a> <a href="/cari">Cari &amp; unduh</a>
  <a href="/grafik">Grafik</a> <a href="/laporan/harian" target="_blank">Laporan harian (PDF)</a>
</nav>"""
"""The menu every page of the board carries (in place of its `<!--menu-->`)."""
PAGES = {"/antrean": ("antrean.html", "The agencies' queues, oldest first, with SLA state (a page)"),
         "/cari": ("cari.html", "Search and filter incidents, export them as CSV (a page)"),
         "/grafik": ("grafik.html", "Charts: reports over time by category; time to escalate, acknowledge and "
                                    "close (a page)")}


def board_router(feed: SituationFeed, situation_of: Callable[[Snapshot, Principal], Situation],
                 layout: Layout, banner: str = "") -> APIRouter:
    """`banner`: HTML every page shows under its menu (an archive's "keadaan per ...")."""
    router = APIRouter()
    names = ("papan.html", "daftar.html", "insiden.html", *(name for name, _ in PAGES.values()))
    pages = {name: (STATIC / name).read_text(encoding="utf-8").replace("<!--menu-->", MENU + banner)
             for name in names}
    places = layout.places()

    async def page(request: Request, name: str) -> HTMLResponse:
        """One of the board's pages for a person with a session; for anyone else, a page saying so.
        The page itself holds no data: its script reads the API with the same session."""
        authorization = request.headers.get("Authorization", "")
        token = authorization[7:] if authorization.startswith("Bearer ") else request.cookies.get(SESSION_COOKIE)
        found = await guard_of(request).authenticate(token)
        if isinstance(found, Refusal):
            return HTMLResponse(_NO_SESSION, status_code=401)
        return HTMLResponse(pages[name])

    @router.get("/papan", response_class=HTMLResponse, tags=["board"], summary="The situation board (a page)",
                responses=PAGE_RESPONSES)
    async def board(request: Request) -> HTMLResponse:
        return await page(request, "papan.html")

    @router.get("/papan/{kecamatan}", response_class=HTMLResponse, tags=["board"], responses=PAGE_RESPONSES,
                summary="A kecamatan's incidents (a page)")
    async def kecamatan_page(request: Request,
                             kecamatan: Annotated[str, PathParam(pattern=r"^\d{2}\.\d{2}(\.\d{2})?$")]
                             ) -> HTMLResponse:
        return await page(request, "daftar.html")

    @router.get("/insiden/{incident_id}", response_class=HTMLResponse, tags=["board"], responses=PAGE_RESPONSES,
                summary="One incident: its reports, assignments and timeline (a page)")
    async def incident_page(request: Request, incident_id: uuid.UUID) -> HTMLResponse:
        return await page(request, "insiden.html")

    def simple_page(path: str, name: str, summary: str) -> None:
        async def serve(request: Request) -> HTMLResponse:
            return await page(request, name)

        router.get(path, response_class=HTMLResponse, tags=["board"], summary=summary, responses=PAGE_RESPONSES,
                   name=name.removesuffix(".html"))(serve)

    for path, (name, summary) in PAGES.items():
        simple_page(path, name, summary)

    @router.get("/v1/layout", tags=["board"], response_model=dict[str, list[int]], responses=AUTH_RESPONSES,
                summary="Each kecamatan's [row, column] on the board's map grid")
    def map_layout(_: Reader) -> dict[str, list[int]]:
        return {code: list(place) for code, place in places.items()}

    @router.get("/v1/live/situation", tags=["board"], response_class=StreamingResponse,
                responses={**AUTH_RESPONSES, 200: {"description": "`event: situation` with a Situation as data, "
                                                                  "now and at every change",
                                                   "content": {"text/event-stream": {}}}},
                summary="The situation of the person's areas now and at every change (Server-Sent Events)")
    async def live(principal: Reader) -> StreamingResponse:
        events = feed.events(lambda snapshot: situation_of(snapshot, principal),
                             key=(principal.areas.regencies, principal.areas.kecamatan))
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @router.get("/v1/vocabulary", tags=["board"], response_model=dict[str, dict[str, str]],
                summary="The words the pages show for the desk's codes (categories, severities, closing reasons, "
                        "agency kinds)")
    def vocabulary() -> dict[str, dict[str, str]]:
        return VOCABULARY

    return router


VOCABULARY = {"categories": {c.value: c.label for c in Category},
              "severities": {s.value: s.value for s in Severity},
              "closing_reasons": {r.value: r.label for r in ClosingReason},
              "agencies": {a.value: AGENCY_NAMES.get(a, a.value.upper()) for a in AgencyKind}}
"""One source for the words of every page's choices: the contracts' own enums and labels."""


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


_NO_SESSION = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Belum masuk — Desk Pemilu</title>
<link rel="stylesheet" href="/static/papan.css"></head>
<body class="pesan"><h1>Belum masuk</h1>
<p>Papan situasi hanya dapat dibuka oleh petugas yang sudah masuk.</p>
<p><a href="/masuk">Masuk</a></p></body></html>"""
