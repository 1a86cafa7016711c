"""The query API over the read models (FastAPI; OpenAPI at /openapi.json)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, Protocol

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, BeforeValidator
from sqlalchemy.engine import Engine, Row

from desk_access import problems
from desk_access.http_guard import AUTH_RESPONSES, requires
from desk_projection import export, queries
from desk_projection.archive import READ_ONLY_REFUSAL, AsOfRecord
from desk_projection.board.actions import actions_router
from desk_projection.board.layout import load_layout
from desk_projection.board.live import SituationFeed, Snapshot, read_snapshot
from desk_projection.board.login import login_router
from desk_projection.board.pages import board_router, static_files
from desk_projection.daily.routes import daily_report_router
from desk_projection.health import ERROR, SkippedSummary, assess
from desk_projection.performance import agency_performance
from desk_projection.responses import (
    LEVEL_LABELS,
    AgencyPerformance,
    AgencyQueue,
    AreaLevel,
    Health,
    IncidentDetail,
    IncidentPage,
    Me,
    ReporterShown,
    Situation,
    Stats,
    as_utc,
    assignment_item,
    category_label,
    incident_detail,
    incident_item,
)
from desk_projection.settings import DESK_TIME_ZONE, ProjectionSettings
from desk_projection.situation import build_situation
from desk_projection.trends import category_series, hour_start, response_times
from desk_shared.access.people import Capability, Principal
from desk_shared.contracts.privacy import Sealed
from desk_shared.contracts.regions import regions
from desk_shared.contracts.reports import ReporterDetails
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.privacy import Disclosure
from desk_shared.runtime.log_reader import ReaderStatus
from desk_shared.runtime.publisher import PublishFailed

Reader = Annotated[Principal, Depends(requires(Capability.READ_BOARD))]
"""Every read asks for a person with a session or token (only /health does not)."""

KECAMATAN_PATTERN = r"^\d{2}\.\d{2}\.\d{2}$"
REGENCY_PATTERN = r"^\d{2}\.\d{2}$"
VILLAGE_PATTERN = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"
MAX_OFFSET = 2**31 - 1
"""Far beyond any page a client can want, and an integer every database takes in OFFSET
(a larger one made SQLite and PostgreSQL fail: a 500)."""


class StreamStatus(Protocol):
    """What /health asks the log reader."""

    async def stream_last_sequence(self) -> int | None: ...

    def status(self) -> ReaderStatus: ...


def _written_as_a_date(value: object) -> object:
    """Only an ISO 8601 date-time, as the schema says: pydantic would also take a number as seconds
    since 1970 (`from=0.5`), which nobody filtering incidents means."""
    if not isinstance(value, str) or not ISO_DATE_TIME.match(value):
        raise ValueError("an ISO 8601 date-time with a time zone, e.g. 2024-11-27T10:00:00+07:00")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_written_as_a_date)]
ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def incident_filter(
    principal: Reader,
    kecamatan: Annotated[str | None, Query(pattern=KECAMATAN_PATTERN, examples=["11.13.01"])] = None,
    regency: Annotated[str | None, Query(pattern=REGENCY_PATTERN, examples=["11.13"])] = None,
    village: Annotated[str | None, Query(pattern=VILLAGE_PATTERN, examples=["11.13.01.2001"])] = None,
    category: Category | None = None,
    severity: Severity | None = None,
    status: Literal["triaged", "escalated", "closed", "merged"] | None = None,
    agency: Annotated[str | None, Query(pattern=r"^[a-z]{2,20}$", examples=["bawaslu"],
                                        description="Only incidents assigned to this kind of agency")] = None,
    opened_from: Annotated[Instant | None, Query(alias="from", description="Opened at or after")] = None,
    opened_until: Annotated[Instant | None, Query(alias="until", description="Opened before")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words a report of the incident holds (all of "
                                                               "them; each also as a word's beginning)")] = None,
    needs_review: Annotated[bool | None, Query(description="true: only those a desk officer must check")] = None,
) -> tuple[queries.IncidentFilter, Principal]:
    """The filters of an incident list or export, and who asks (their areas are always one of them)."""
    return queries.IncidentFilter(
        kecamatan=kecamatan, regency=regency, village=village, category=category.value if category else None,
        severity=severity.value if severity else None, status=status, agency=agency, opened_from=opened_from,
        opened_until=opened_until, text=q, needs_review=needs_review, scope=principal.areas,
        numbers_searchable=principal.may(Capability.READ_PERSONAL)), principal


Filtered = Annotated[tuple[queries.IncidentFilter, Principal], Depends(incident_filter)]

def create_app(engine: Engine, settings: ProjectionSettings, stream: StreamStatus | None = None,
               feed: SituationFeed | None = None, as_of: AsOfRecord | None = None) -> FastAPI:
    """The app over `engine` (a reading engine); `stream` tells /health how far the log is; `feed`
    keeps the board live (the board's routes exist only with one). `as_of`: the app serves an archive
    (read-only, "now" is its moment, every page says so; see `archive`)."""
    directory = regions()  # read once, before the first request
    clock = as_of.clock if as_of is not None else _wall_clock
    archive = as_of.response() if as_of is not None else None
    regency_codes = settings.regency_codes
    app = FastAPI(title="Desk Pemilu — read models",
                  description="Incidents, their timelines and the situation per kecamatan, projected from the "
                              "event log. Classifications marked 'otomatis' are machine-derived.",
                  version="2")
    problems.install(app)
    app.include_router(daily_report_router(engine, directory, regency_codes, clock))

    def _kecamatan_name(code: str) -> str | None:
        area = directory.kecamatan_of(code)
        return area.name if area else None

    @app.get("/v1/incidents", response_model=IncidentPage, tags=["incidents"], responses=AUTH_RESPONSES)
    def list_incidents(filtered: Filtered, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
        """Incidents in the person's areas, newest first, filtered and searched. Phone numbers, NIK and
        e-mail addresses in texts are hidden from roles without access to personal data."""
        where, principal = filtered
        with engine.connect() as conn:
            rows, total = queries.list_incidents(conn, where, limit, offset)
        redact = not principal.may(Capability.READ_PERSONAL)
        return as_json(IncidentPage(items=[incident_item(r, directory, redact) for r in rows], total=total,
                                    limit=limit, offset=offset))

    @app.get("/v1/incidents.csv", tags=["incidents"], response_class=StreamingResponse,
             responses={200: {"content": {"text/csv": {}}, "description": "Every matching incident, newest first"},
                        **AUTH_RESPONSES})
    def export_incidents(filtered: Filtered) -> StreamingResponse:
        """The incidents of `/v1/incidents` with the same filters, all of them, as CSV (UTF-8 with a BOM,
        for spreadsheets), streamed while the database is read: no job, no time-out, however many."""
        where, principal = filtered
        rows = export.incident_rows(engine, where, directory, not principal.may(Capability.READ_PERSONAL))
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="insiden-{stamp}.csv"'})

    @app.get("/v1/me", response_model=Me, tags=["sessions"], responses=AUTH_RESPONSES)
    def me(principal: Reader) -> Me:
        """Who the session belongs to and what they may do (the pages show only the actions allowed)."""
        return Me(login=principal.login, roles=[r.value for r in principal.roles],
                  capabilities=sorted(c.value for c in principal.capabilities), as_of=archive)

    @app.get("/v1/incidents/{incident_id}", response_model=IncidentDetail, tags=["incidents"],
             responses={404: {"description": "No such incident (or not in the person's areas)"}, **AUTH_RESPONSES})
    async def get_incident(incident_id: uuid.UUID, principal: Reader, request: Request) -> Response:
        """One incident with its evidence, liaisons and every event about it in log order (404 also
        for an incident outside the person's areas). Its reporter is shown to desk officers and
        auditors, and each showing is recorded in the log first."""
        row, events, incident_reports, assignments = await run_in_threadpool(_incident, engine, incident_id)
        if row is None or not principal.sees(row.kecamatan_code):
            raise HTTPException(status_code=404, detail=f"incident {incident_id} not found")
        detail = incident_detail(row, events, directory, incident_reports, assignments, clock(),
                                 redact=not principal.may(Capability.READ_PERSONAL))
        detail.actors = _logins(request, detail)
        if row.reporter is not None:
            if principal.may(Capability.READ_PERSONAL):
                detail.reporter = await _reporter(request, principal, Sealed.model_validate(row.reporter),
                                                  f"reporter of incident {incident_id}")
            else:
                detail.reporter_redacted = True
        return as_json(detail)

    @app.get("/v1/checks", response_model=IncidentPage, tags=["incidents"], responses=AUTH_RESPONSES)
    def urgent_checks(principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> IncidentPage:
        """The 'cek segera' queue: incidents whose urgency a desk officer must confirm or dismiss before
        their deadline (else they are escalated then), the most pressing first, in the person's areas."""
        with engine.connect() as conn:
            rows = queries.open_checks(conn, principal.areas, limit)
        redact = not principal.may(Capability.READ_PERSONAL)
        return IncidentPage(items=[incident_item(r, directory, redact) for r in rows], total=len(rows), limit=limit,
                            offset=0)

    @app.get("/v1/situation", response_model=Situation, tags=["situation"], responses=AUTH_RESPONSES)
    def situation(principal: Reader) -> Situation:
        """Per kecamatan of the person's areas: its alert level and open incidents by category and
        severity, worst first."""
        snapshot = feed.snapshot if feed is not None else None  # at most one watcher's interval old
        return situation_of(snapshot or read_snapshot(engine, now=clock()), principal)

    def situation_of(snapshot: Snapshot, principal: Principal, seed_scope: bool = True) -> Situation:
        found = build_situation(snapshot.position, snapshot.incident_counts, snapshot.report_counts, directory,
                                regency_codes, principal.areas, snapshot.levels, seed_scope,
                                trends=snapshot.trend_now)
        found.as_of = archive
        return found

    if feed is not None:
        app.include_router(board_router(feed, lambda snapshot, who: situation_of(snapshot, who, seed_scope=False),
                                        load_layout(settings.board_layout_file),
                                        as_of.banner() if as_of is not None else ""))
        app.include_router(login_router(settings.cookie_secure))
        app.include_router(actions_router(READ_ONLY_REFUSAL if as_of is not None else None))
        app.mount("/static", static_files(), name="static")

    @app.get("/v1/stats", response_model=Stats, tags=["situation"], responses=AUTH_RESPONSES)
    def stats(principal: Reader, days: Annotated[int, Query(ge=1, le=90)] = 1,
              bucket: Literal["hour", "day"] = "hour") -> Stats:
        """For charts, in the person's areas: reports received per hour (the last `days` × 24 hours) or per
        day (the last `days` WIB days, today's included) by their own category, and the minutes from an
        incident's opening to its escalation, its first acknowledgement and its closing, for incidents
        opened in that time."""
        if bucket == "hour" and days > 7:
            raise RequestValidationError([{"type": "value_error", "loc": ("query", "days"), "input": days,
                                           "msg": "hourly buckets cover at most 7 days; ask for bucket=day"}])
        now = clock()
        if bucket == "hour":
            start = hour_start(now, days * 24)
        else:  # whole WIB days, from the first one's midnight
            first = now.astimezone(DESK_TIME_ZONE).date() - timedelta(days=days - 1)
            start = datetime.combine(first, datetime.min.time(), DESK_TIME_ZONE).astimezone(UTC)
        with engine.connect() as conn:
            counted = queries.hourly_reports(conn, start)
            times = queries.incident_times(conn, start)
        starts, series = category_series(counted, start, days * 24 if bucket == "hour" else days,
                                         principal.areas, None if bucket == "hour" else DESK_TIME_ZONE)
        return Stats(bucket=bucket, starts=starts, reports=series,
                     category_labels={c: category_label(c) for c in series},
                     response_times=response_times(times, principal.areas))

    @app.get("/v1/areas", response_model=list[AreaLevel], tags=["situation"], responses=AUTH_RESPONSES)
    def area_levels(principal: Reader) -> list[AreaLevel]:
        """The alert level of every kecamatan of the person's areas that has one above or back to Aman,
        with its score and why."""
        with engine.connect() as conn:
            rows = queries.levels(conn)
        return [AreaLevel(kecamatan_code=r.kecamatan_code, kecamatan_name=_kecamatan_name(r.kecamatan_code),
                          level=r.level, level_label=LEVEL_LABELS.get(r.level, r.level), previous=r.previous,
                          score=r.score, reason=r.reason, since=as_utc(r.since))
                for r in rows if principal.sees(r.kecamatan_code)]

    @app.get("/v1/agencies/{agency}/queue", response_model=AgencyQueue, tags=["agencies"], responses=AUTH_RESPONSES)
    def agency_queue(principal: Reader, agency: Annotated[str, Path(pattern=r"^[a-z]{2,20}$", examples=["bawaslu"])],
                     open_only: bool = True, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> AgencyQueue:
        """What an agency must handle in the person's areas, oldest first, with where each stands
        against its deadlines (tepat_waktu, terlambat, selesai)."""
        with engine.connect() as conn:
            rows = queries.agency_queue(conn, agency, principal.areas, open_only, limit)
        now = clock()
        redact = not principal.may(Capability.READ_PERSONAL)
        return AgencyQueue(agency=agency, items=[assignment_item(r, now, redact) for r in rows])

    @app.get("/v1/agencies/performance", response_model=list[AgencyPerformance], tags=["agencies"],
             responses=AUTH_RESPONSES)
    def performance(principal: Reader) -> list[AgencyPerformance]:
        """Per agency, in the person's areas: assignments, how many acknowledged, finished and late,
        and the median minutes from assignment to acknowledgement, to finishing and to closing."""
        with engine.connect() as conn:
            rows = [r for r in queries.all_assignments(conn) if principal.sees(r.kecamatan_code)]
        return agency_performance(rows)

    @app.get("/health", response_model=Health, tags=["operations"],
             responses={503: {"description": "Stopped (status 'error'), or the read-model database is unreachable"}})
    async def health() -> Health | JSONResponse:
        try:
            position, skipped = await run_in_threadpool(_stored_state, engine)
        except Exception as exc:
            return JSONResponse(status_code=503, content={"status": "error", "detail": f"database: {exc!r}"[:300]})
        last = await stream.stream_last_sequence() if stream else None
        answer = assess(position, last, stream.status() if stream else ReaderStatus(), skipped)
        if answer.status == ERROR:
            return JSONResponse(status_code=503, content=answer.model_dump(mode="json"))
        return answer

    return app


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def as_json(model: BaseModel) -> Response:
    """`model` as built, serialized once: FastAPI would validate a returned model again against the
    route's response model (a large incident's timeline twice over) before serializing it."""
    return Response(model.model_dump_json(), media_type="application/json")


def _incident(engine: Engine, incident_id: uuid.UUID) -> tuple[Row | None, list[Row], list[Row], list[Row]]:
    with engine.connect() as conn:
        row = queries.get_incident(conn, incident_id)
        if row is None:
            return None, [], [], []
        return (row, list(queries.incident_timeline(conn, incident_id)), list(queries.incident_reports(
            conn, incident_id)), list(queries.incident_assignments(conn, incident_id)))


def _logins(request: Request, detail: IncidentDetail) -> dict[str, str]:
    """Who 'person:<id>' in the timeline is, by login (a work identity, not personal data)."""
    guard = getattr(request.app.state, "people_guard", None)
    people = getattr(guard, "people", None)
    if people is None:
        return {}
    named = {str(e.summary.get("by")) for e in detail.timeline if str(e.summary.get("by", "")).startswith("person:")}
    found = {actor: people.by_id.get(actor.removeprefix("person:")) for actor in named}
    return {actor: person.login for actor, person in found.items() if person is not None}


async def _reporter(request: Request, principal: Principal, sealed: Sealed, what: str) -> ReporterShown:
    disclosure: Disclosure | None = getattr(request.app.state, "disclosure", None)
    if disclosure is None:
        raise HTTPException(503, "personal data cannot be shown yet (starting, or NATS unreachable)",
                            headers={"Retry-After": "2"})
    try:
        shown = await disclosure.show(principal.actor, sealed, what, ReporterDetails)
    except PublishFailed:
        raise HTTPException(503, "the reading could not be recorded, so nothing is shown; try again",
                            headers={"Retry-After": "2"}) from None
    return ReporterShown(name=shown.name, phone=shown.phone) if shown else ReporterShown(erased=True)


def _stored_state(engine: Engine) -> tuple[int, SkippedSummary]:
    with engine.connect() as conn:  # one transaction: the position and the skipped events agree
        position = queries.position(conn)
        count, latest = queries.skipped(conn)
    if latest is None:
        return position, SkippedSummary(count)
    return position, SkippedSummary(count, latest.stream_seq, latest.event_type, latest.reason)
