"""The leaders' view: alert level and open incidents per kecamatan, worst first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Row

from desk_projection.responses import (
    LEVEL_LABELS,
    KecamatanSituation,
    Situation,
    as_utc,
    empty_kecamatan,
    severity_rank,
)
from desk_projection.trends import TREND_HOURS
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.contracts.taxonomy import Severity


def build_situation(position: int, incident_counts: Iterable[Row], report_counts: Iterable[Any],
                    directory: RegionDirectory, regency_codes: frozenset[str], scope: Areas,
                    levels: Mapping[str, str] | None = None, seed_scope: bool = True,
                    trends: Mapping[str, list[int]] | None = None) -> Situation:
    """Every kecamatan of `scope` (the person's areas) with incidents or reports, plus every kecamatan
    of `regency_codes` and (`seed_scope`) of `scope` itself, so a quiet kecamatan shows as quiet
    instead of missing. The board does not seed the scope: a person who may see every regency is
    shown the desk's own (`regency_codes`) and wherever something happened, not a whole country."""
    wide = regency_codes | frozenset(scope.regencies) if seed_scope else regency_codes
    seeded = [area.code for area in directory.kecamatan_in(wide)]
    places: dict[str, KecamatanSituation] = {
        code: empty_kecamatan(code, directory)
        for code in [*seeded, *(scope.kecamatan if seed_scope else ())] if scope.covers(code)}
    report_counts = [row for row in report_counts if scope.covers(row.kecamatan_code)]
    incident_counts = [row for row in incident_counts if scope.covers(row.kecamatan_code)]

    def place(code: str) -> KecamatanSituation:
        if code not in places:
            places[code] = empty_kecamatan(code, directory)
        return places[code]

    for row in report_counts:
        here = place(row.kecamatan_code)
        here.reports = row.n
        here.last_report_at = as_utc(row.last_submitted_at)

    for row in incident_counts:
        here = place(row.kecamatan_code)
        here.incidents += row.n
        here.unverified += row.n if row.automated else 0
        here.by_category[row.category] = here.by_category.get(row.category, 0) + row.n
        here.by_severity[row.severity] = here.by_severity.get(row.severity, 0) + row.n
        if here.highest_severity is None or severity_rank(row.severity) > severity_rank(here.highest_severity):
            here.highest_severity = row.severity
        opened = as_utc(row.last_opened_at)  # only when the reports themselves were never seen
        if not here.reports and opened and (here.last_report_at is None or opened > here.last_report_at):
            here.last_report_at = opened

    for code, level in (levels or {}).items():
        if scope.covers(code):
            here = place(code)
            here.level, here.level_label = level, LEVEL_LABELS.get(level, level)

    for code, here in places.items():
        here.trend = list((trends or {}).get(code) or [0] * TREND_HOURS)

    ordered = sorted(places.values(), key=lambda k: (
        -severity_rank(k.highest_severity) if k.highest_severity else 1, -k.incidents, k.code))
    by_severity = {s.value: sum(k.by_severity.get(s.value, 0) for k in ordered) for s in Severity}
    return Situation(position=position, incidents=sum(k.incidents for k in ordered), by_severity=by_severity,
                     kecamatan=ordered)
