"""How fast each agency responds: from its assignments' times, medians per agency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from statistics import median

from sqlalchemy.engine import Row

from desk_projection.responses import AgencyPerformance
from desk_projection.trends import minutes_between as _minutes


def _median(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(median(found), 1) if found else None


def agency_performance(rows: Iterable[Row]) -> list[AgencyPerformance]:
    by_agency: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_agency[row.agency].append(row)
    return [AgencyPerformance(
        agency=agency, assigned=len(items),
        acknowledged=sum(r.acknowledged_at is not None for r in items),
        finished=sum(r.finished_at is not None for r in items),
        overdue=sum(bool(r.overdue) for r in items),
        median_minutes_to_acknowledge=_median([_minutes(r.assigned_at, r.acknowledged_at) for r in items]),
        median_minutes_to_finish=_median([_minutes(r.assigned_at, r.finished_at) for r in items]),
        median_minutes_to_close=_median([_minutes(r.assigned_at, r.closed_at) for r in items]))
        for agency, items in sorted(by_agency.items())]
