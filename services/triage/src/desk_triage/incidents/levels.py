"""A kecamatan's alert level (Aman, Waspada, Siaga, Awas) from its open incidents, weighted by
severity and by how recent their last report is, on top of a prior per kecamatan (a
vulnerability index such as Bawaslu's IKP). Pure: the level at a time is a function of the
area and that time; `next_fall` says when, with nothing new, the level would drop."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from desk_shared.contracts.incidents import AlertLevel
from desk_shared.contracts.taxonomy import Severity
from desk_triage.incidents.state import Area


def _weights() -> Mapping[Severity, float]:
    return {Severity.RENDAH: 0.5, Severity.SEDANG: 1.0, Severity.TINGGI: 3.0, Severity.KRITIS: 6.0}


def _thresholds() -> Mapping[AlertLevel, float]:
    return {AlertLevel.WASPADA: 2.0, AlertLevel.SIAGA: 5.0, AlertLevel.AWAS: 10.0}


@dataclass(frozen=True)
class LevelPolicy:
    weights: Mapping[Severity, float] = field(default_factory=_weights)
    """An open incident's weight at its last report."""
    half_life: timedelta = timedelta(hours=12)
    """An incident's weight halves for every this much time since its last report."""
    thresholds: Mapping[AlertLevel, float] = field(default_factory=_thresholds)
    """The score from which each level above Aman holds."""
    priors: Mapping[str, float] = field(default_factory=dict)
    """Kecamatan code -> points always counted (its vulnerability)."""


DEFAULT_LEVELS = LevelPolicy()


@dataclass(frozen=True)
class Assessment:
    level: AlertLevel
    score: float
    reason: str


def assess(area: Area, at: datetime, policy: LevelPolicy = DEFAULT_LEVELS) -> Assessment:
    prior = policy.priors.get(area.kecamatan_code, 0.0)
    counted = [(i.severity, _decay(at - i.last_report_at, policy)) for i in area.open_incidents()]
    raw = prior + sum(policy.weights[s] * d for s, d in counted)
    level, total = level_for(raw, policy), round(raw, 2)
    by = {s: sum(1 for c, _ in counted if c is s) for s in Severity}
    kinds = ", ".join(f"{n} {s.value}" for s, n in reversed(by.items()) if n) or "none"
    reason = f"{len(counted)} open incident(s) ({kinds}), prior {prior:g}: score {total:g}"
    threshold = policy.thresholds.get(level)
    reason += f" >= {threshold:g} ({level.value})" if threshold is not None else " (aman)"
    return Assessment(level, total, reason)


def level_for(score: float, policy: LevelPolicy = DEFAULT_LEVELS) -> AlertLevel:
    reached = [lvl for lvl, threshold in policy.thresholds.items() if score >= threshold]
    return max(reached, key=lambda lvl: lvl.rank, default=AlertLevel.AMAN)


def next_fall(area: Area, after: datetime, policy: LevelPolicy = DEFAULT_LEVELS) -> datetime | None:
    """When the area's level will drop below its current level if nothing happens (None: never,
    the prior alone holds it). The score is a sum of halvings with one half-life, so the time it
    reaches a threshold has a closed form."""
    threshold = policy.thresholds.get(area.level)
    if threshold is None:
        return None
    prior = policy.priors.get(area.kecamatan_code, 0.0)
    if prior >= threshold:
        return None
    incidents = area.open_incidents()
    if not incidents:
        return after
    half_life = policy.half_life.total_seconds()
    weighted = sum(policy.weights[i.severity] * 2 ** ((i.last_report_at - after).total_seconds() / half_life)
                   for i in incidents)
    if weighted <= 0 or prior + weighted < threshold:
        return after
    seconds = half_life * math.log2(weighted / (threshold - prior))
    return after + timedelta(seconds=math.ceil(seconds) + 1)  # the first whole second below the threshold


def _decay(age: timedelta, policy: LevelPolicy) -> float:
    return 2 ** (-max(age.total_seconds(), 0) / policy.half_life.total_seconds())
