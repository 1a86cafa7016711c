"""Grouping: does a new report tell of a happening an open incident already covers?

Place decides as much as kind: the same TPS or village when the reports name them, else the
kecamatan; a report naming another village, or another TPS, is another happening (measured on the
grouping streams: forbidding it lost nothing against counting it against, and template wording
about two places can then never join them). Kinds that one
happening can pass through (a quarrel that becomes a fight, a handout caught that ends in a
brawl) count as related. Near-identical wording is one signal among the others, never the
rule, since agencies write from templates. Time is event time: how long after the incident's
last report the new one was submitted. Pure and deterministic; the weights are a policy."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.process import extractOne

from desk_shared.contracts.taxonomy import Category
from desk_triage.incidents.state import Area, Incident

_TPS = re.compile(r"\btps\s*(?:no\.?|nomor|nmr)?\s*[-.:#]?\s*0*(\d{1,3})\b", re.IGNORECASE)

_C = Category
KIND_FAMILIES: tuple[frozenset[Category], ...] = (
    frozenset({_C.SOCIAL_FRICTION, _C.INTIMIDATION, _C.VIOLENCE}),
    frozenset({_C.MONEY_POLITICS, _C.STATE_RESOURCE_MISUSE, _C.ASN_NEUTRALITY, _C.VILLAGE_OFFICIAL_NEUTRALITY,
               _C.SECURITY_FORCES_NEUTRALITY, _C.CAMPAIGN_VIOLATION}),
    frozenset({_C.SLANDER_HOAX_HATE, _C.SOCIAL_FRICTION}),
    frozenset({_C.LOGISTICS, _C.SOCIAL_FRICTION, _C.VIOLENCE}),
)
"""Kinds one happening can pass through, or that different senders see it as."""


def tps_of(text: str) -> str | None:
    """The first TPS number a text names ("TPS 03", "tps no. 3" -> "3")."""
    found = _TPS.search(text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class GroupingPolicy:
    window: timedelta = timedelta(hours=4)
    """A report further than this after an incident's last report never joins it."""
    threshold: float = 2.0
    """A candidate needs at least this score to be joined."""
    same_tps: float = 3.0
    same_village: float = 2.0
    place_unknown: float = 0.0
    """One of the two names no village (the kecamatan is all that is known)."""
    same_kind: float = 2.0
    related_kind: float = 1.0
    clearing_up: float = 0.0
    """A report classified 'other' (a follow-up, 'situasi sudah kondusif') next to any kind."""
    unrelated_kind: float = -1.0
    time: float = 1.0
    """Added for a report at once, falling by `time_per_hour` for every hour after the last report."""
    time_per_hour: float = 0.5
    text: float = 2.0
    """Added for identical wording, scaled from 0 at `text_floor` similarity."""
    text_floor: float = 0.3


DEFAULT_POLICY = GroupingPolicy()


@dataclass(frozen=True)
class NewReport:
    report_id: uuid.UUID
    at: datetime
    village_code: str | None
    tps: str | None
    category: Category
    summary: str


@dataclass(frozen=True)
class Placement:
    """Where a report goes: an open incident (with the reason) or, `incident_id` None, a new one."""

    incident_id: uuid.UUID | None
    score: float = 0.0
    reason: str = ""


def place(area: Area, report: NewReport, policy: GroupingPolicy = DEFAULT_POLICY) -> Placement:
    """The best open incident of the kecamatan for `report`, if one scores enough."""
    best: tuple[float, datetime, str] | None = None  # ties go to the incident opened first
    chosen = Placement(None)
    for incident in area.open_incidents():
        scored = score(incident, report, policy)
        if scored is None or scored.score < policy.threshold:
            continue
        rank = (-scored.score, incident.opened_at, str(incident.id))
        if best is None or rank < best:
            best, chosen = rank, scored
    return chosen


def score(incident: Incident, report: NewReport, policy: GroupingPolicy) -> Placement | None:
    """How well `report` fits `incident`, with the reasons; None outside the time window or elsewhere."""
    gap = report.at - incident.last_report_at
    if gap > policy.window or report.at < incident.opened_at - policy.window:
        return None
    place = _place(incident, report, policy)
    if place is None:
        return None
    parts: list[tuple[str, float]] = [place, _kind(incident, report.category, policy)]
    hours = max(gap.total_seconds(), 0) / 3600
    parts.append((f"{round(hours * 60)} min after", policy.time - policy.time_per_hour * hours))
    similarity = _similarity(_simple(report.summary), incident)
    if similarity > policy.text_floor:
        parts.append((f"similar text {similarity:.2f}",
                      policy.text * (similarity - policy.text_floor) / (1 - policy.text_floor)))
    total = round(sum(value for _, value in parts), 2)
    return Placement(incident.id, total, ", ".join(name for name, _ in parts) + f": score {total:g}")


def _place(incident: Incident, report: NewReport, policy: GroupingPolicy) -> tuple[str, float] | None:
    """The place signal; None when the two name different villages or different TPS."""
    villages = incident.villages
    if report.village_code is not None and villages and report.village_code not in villages:
        return None
    if report.tps is not None:
        numbers = {tps for village, tps in incident.tps
                   if village is None or report.village_code is None or village == report.village_code}
        if report.tps in numbers:
            return f"same TPS {report.tps}", policy.same_tps
        if numbers:
            return None
    if report.village_code is not None and report.village_code in villages:
        return "same village", policy.same_village
    return "same kecamatan (no village named by one of them)", policy.place_unknown


def _similarity(wording: str, incident: Incident) -> float:
    """The best token-set similarity (0..1) of `wording` with one of the incident's reports."""
    best = extractOne(wording, [_simple(r.summary) for r in incident.reports], scorer=fuzz.token_set_ratio)
    return best[1] / 100 if best else 0.0


def _kind(incident: Incident, category: Category, policy: GroupingPolicy) -> tuple[str, float]:
    kinds = incident.kinds
    if category in kinds:
        return "same kind", policy.same_kind
    if category is Category.OTHER or Category.OTHER in kinds:
        return "a follow-up", policy.clearing_up
    if any(category in family and kinds & family for family in KIND_FAMILIES):
        return "related kind", policy.related_kind
    return "another kind", policy.unrelated_kind


@lru_cache(maxsize=65_536)
def _simple(text: str) -> str:
    """Lower-case words only (memoised: an incident's reports are compared with every new one)."""
    return " ".join(re.findall(r"\w+", text.lower()))


def pairs(groups: Iterable[Iterable[str]]) -> set[frozenset[str]]:
    """Every unordered pair of items that share a group (for pairwise precision and recall)."""
    out: set[frozenset[str]] = set()
    for group in groups:
        items = sorted(group)
        out.update(frozenset((a, b)) for i, a in enumerate(items) for b in items[i + 1:])
    return out
