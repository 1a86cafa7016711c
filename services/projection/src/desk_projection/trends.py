"""Reports over time and the desk's response times, from the read models' grouped rows (pure).

Hours are counted in UTC (as stored); days in the desk's own time zone, so a chart's day is the
day the people in the room lived."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Row

from desk_projection.responses import as_utc
from desk_shared.contracts.agencies import Areas

TREND_HOURS = 24
UNCLASSIFIED = "other"


def hour_start(now: datetime, hours: int) -> datetime:
    """The start of the first of `hours` whole UTC hours ending with the current one."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)


def _hour(value: str | datetime) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(at)  # type: ignore[return-value]


def kecamatan_trends(rows: Iterable[Row], start: datetime, hours: int = TREND_HOURS) -> dict[str, list[int]]:
    """Reports per hour per kecamatan, `hours` counts from `start`, oldest first."""
    trends: dict[str, list[int]] = {}
    for row in rows:
        index = int((_hour(row.hour) - start).total_seconds() // 3600)
        if 0 <= index < hours:
            trends.setdefault(row.kecamatan_code, [0] * hours)[index] += row.n
    return trends


def category_series(rows: Iterable[Row], start: datetime, buckets: int, scope: Areas, tz: ZoneInfo | None
                    ) -> tuple[list[datetime], dict[str, list[int]]]:
    """Reports per bucket per category in `scope`: hourly from `start` (tz None), or per local day of
    `tz` (`start` then the first day's local midnight). Returns the buckets' starts and the counts."""
    if tz is None:
        starts = [start + timedelta(hours=i) for i in range(buckets)]
    else:
        first = start.astimezone(tz).date()
        starts = [datetime.combine(first + timedelta(days=i), datetime.min.time(), tz) for i in range(buckets)]
    series: dict[str, list[int]] = defaultdict(lambda: [0] * buckets)
    for row in rows:
        if not scope.covers(row.kecamatan_code):
            continue
        at = _hour(row.hour)
        index = (int((at - start).total_seconds() // 3600) if tz is None
                 else (at.astimezone(tz).date() - starts[0].date()).days)
        if 0 <= index < buckets:
            series[row.category or UNCLASSIFIED][index] += row.n
    return starts, dict(series)


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (as_utc(end) - as_utc(start)).total_seconds() / 60  # type: ignore[operator]


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else None
    return {"n": len(ordered), "median_minutes": round(median(ordered), 1) if ordered else None,
            "p90_minutes": round(p90, 1) if p90 is not None else None}


def response_times(rows: Iterable[Row], scope: Areas) -> dict[str, dict[str, float | int | None]]:
    """Minutes from an incident's opening to its escalation, to its first acknowledgement (by a liaison
    or an assigned agency, whichever came first) and to its closing: count, median and 90th percentile."""
    escalate: list[float] = []
    acknowledge: list[float] = []
    close: list[float] = []
    for row in rows:
        if not scope.covers(row.kecamatan_code):
            continue
        acknowledged = [a for a in (row.agency_acknowledged_at, row.liaison_acknowledged_at) if a is not None]
        for found, into in ((row.escalated_at, escalate), (min(map(as_utc, acknowledged)) if acknowledged else None,
                                                           acknowledge), (row.closed_at, close)):
            minutes = minutes_between(row.opened_at, found)
            if minutes is not None:
                into.append(max(0.0, minutes))
    return {"escalate": summary(escalate), "acknowledge": summary(acknowledge), "close": summary(close)}
