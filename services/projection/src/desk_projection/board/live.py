"""The board's live feed: one watcher per projection process looks at the read models' position a
few times a second and, when it moved, reads the situation's rows once; every open board is then
sent its own view of them (its person's areas) as a Server-Sent Event.

Reading the position from the database, not from this process's own writes, keeps it right with
several projection replicas: whichever applied a batch, every replica's boards see it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Connection, Engine, Row

from desk_projection import queries
from desk_projection.responses import Situation
from desk_projection.trends import TREND_HOURS, hour_start, kecamatan_trends
from desk_shared.runtime.process import sleep_unless

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
"""A snapshot is read whole again this often, even when the position stays: rows can change under it
(read models swapped in by `desk-projection rebuild --swap`) and the trends' hours turn. Between, only
the reports added since the last snapshot are counted."""
STALE_SECONDS = 5.0
"""A snapshot last confirmed longer ago than this is not handed to /v1/situation."""
HEARTBEAT_SECONDS = 15.0
"""A comment line this often keeps proxies from closing an idle stream (and finds closed ones)."""


@dataclass(frozen=True)
class KecamatanReports:
    kecamatan_code: str
    n: int
    last_submitted_at: datetime | None


@dataclass(frozen=True)
class ReportTally:
    """Reports per kecamatan, counted up to the report at log sequence `upto`. Batches commit in log
    order, so every report at or below it is counted and a later count needs only those above it."""

    upto: int
    by_kecamatan: dict[str, KecamatanReports]

    def plus(self, rows: Sequence[Row]) -> ReportTally:
        counted = dict(self.by_kecamatan)
        upto = self.upto
        for row in rows:
            known = counted.get(row.kecamatan_code)
            last = max((t for t in (known.last_submitted_at if known else None, row.last_submitted_at) if t),
                       default=None)
            counted[row.kecamatan_code] = KecamatanReports(row.kecamatan_code, (known.n if known else 0) + row.n, last)
            upto = max(upto, int(row.last_seq))
        return ReportTally(upto, counted)


@dataclass(frozen=True)
class Trends:
    start: datetime
    by_kecamatan: dict[str, list[int]]
    totals: dict[str, int]
    """Every kecamatan's report count when the trends were read."""

    def now(self, totals: dict[str, int]) -> dict[str, list[int]]:
        """The trends with the reports received since they were read in their current hour."""
        current: dict[str, list[int]] = {}
        for code, total in totals.items():
            trend = list(self.by_kecamatan.get(code) or [0] * TREND_HOURS)
            trend[-1] += max(0, total - self.totals.get(code, 0))
            current[code] = trend
        return current


@dataclass(frozen=True)
class Snapshot:
    position: int
    incident_counts: Sequence[Row]
    tally: ReportTally
    levels: dict[str, str]
    trends: Trends
    """As last read from the hourly counts (kept for the next snapshot)."""
    trend_now: dict[str, list[int]]
    """Each kecamatan's 24-hour trend at this snapshot."""
    read_at: float = field(default_factory=time.monotonic)
    """When the snapshot was last read whole (time.monotonic())."""
    views: dict[object, str] = field(default_factory=dict, compare=False)
    """Each distinct view of it sent to boards, as sent (boards of people with the same areas share one)."""

    @property
    def report_counts(self) -> list[KecamatanReports]:
        return list(self.tally.by_kecamatan.values())


def read_snapshot(engine: Engine, previous: Snapshot | None = None, now: datetime | None = None) -> Snapshot:
    """The situation's rows now (`now`: the trends' last hour, an archive's moment). After `previous`
    (read whole less than REFRESH_SECONDS ago, in the same hour) only the reports added since are
    counted and the hourly trends are kept."""
    start = hour_start(now or datetime.now(UTC), TREND_HOURS)
    whole = previous is None or time.monotonic() - previous.read_at >= REFRESH_SECONDS
    with _snapshot_reading(engine) as conn:  # one snapshot: counts and position agree
        position = queries.position(conn)
        if whole or previous is None:
            tally = ReportTally(0, {}).plus(queries.report_counts(conn))
        else:
            tally = previous.tally.plus(queries.report_counts(conn, after=previous.tally.upto))
        totals = {code: k.n for code, k in tally.by_kecamatan.items()}
        if whole or previous is None or previous.trends.start != start:
            trends = Trends(start, kecamatan_trends(queries.hourly_reports(conn, start), start), totals)
        else:
            trends = previous.trends
        return Snapshot(position, queries.incident_counts(conn), tally,
                        {row.kecamatan_code: row.level for row in queries.levels(conn)}, trends, trends.now(totals),
                        time.monotonic() if whole or previous is None else previous.read_at)


def _snapshot_reading(engine: Engine) -> Connection:
    """A connection whose statements all see one snapshot: SQLite's read transaction does; PostgreSQL
    needs REPEATABLE READ (under READ COMMITTED each statement sees its own)."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


class SituationFeed:
    def __init__(self, engine: Engine, interval: float = 0.25,
                 clock: Callable[[], datetime] | None = None) -> None:
        """`clock`: what "now" is for the trends (an archive's moment; default the wall clock)."""
        self._engine, self._interval = engine, interval
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._changed = asyncio.Condition()

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot, or None when the database could not be read for a while (then the
        caller reads for itself and says what it finds, instead of answering from old rows)."""
        if time.monotonic() - self._checked_at > STALE_SECONDS:
            return None
        return self._snapshot

    def _read(self, known: Snapshot | None) -> Snapshot | None:
        with self._engine.connect() as conn:
            if (known is not None and queries.position(conn) == known.position
                    and time.monotonic() - known.read_at < REFRESH_SECONDS):
                return None
        return read_snapshot(self._engine, known, self._clock() if self._clock else None)

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the position until `stop`; a failing read is logged and tried again."""
        while not stop.is_set():
            try:
                fresh = await asyncio.to_thread(self._read, self._snapshot)
                self._checked_at = time.monotonic()
            except Exception as exc:  # the database away for a moment: the boards keep what they show
                log.warning("live situation not read: %s", exc)
                fresh = None
            if fresh is not None:
                self._snapshot = fresh
                async with self._changed:
                    self._changed.notify_all()
            await sleep_unless(stop, self._interval)

    async def events(self, view: Callable[[Snapshot], Situation], key: object) -> AsyncIterator[str]:
        """The stream of one board (`key`: its person's areas): its situation now, then at every move of
        the log (pages read again what they show on each), and when a refresh at the same position shows
        something else; a heartbeat between."""
        seen: Snapshot | None = None
        sent = ("", -1)
        while True:
            snapshot = self._snapshot
            if snapshot is not None and snapshot is not seen:
                seen = snapshot
                data = snapshot.views.get(key)
                if data is None:  # the first board of these areas to see this snapshot renders it for all
                    data = snapshot.views[key] = view(snapshot).model_dump_json()
                if (data, snapshot.position) != sent:
                    sent = (data, snapshot.position)
                    yield f"event: situation\nid: {snapshot.position}\ndata: {data}\n\n"
                continue
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": tetap terhubung\n\n"
