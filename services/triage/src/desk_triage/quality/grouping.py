"""Measuring grouping (`desk-triage evaluate-grouping`): labelled report streams go through the
classifier and `on_report` exactly as triage runs them, in arrival order with their event
times, and the incidents made are compared with the happenings the writers labelled: pairwise
precision (reports put together that belong together) and recall (reports that belong together
put together)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from desk_shared.contracts.envelope import Actor, KecamatanCode, VillageCode, derived_id
from desk_shared.contracts.reports import ReportSubmitted, ReportSubmittedPayload
from desk_triage.classifier import LinearModel, RuleSet, classify
from desk_triage.decisions import summarise
from desk_triage.incidents.decide import Desk, on_report, report_entry
from desk_triage.incidents.grouping import pairs
from desk_triage.incidents.state import Book, fold
from desk_triage.quality.corpus import CorpusError

STREAMS_DIR = "grouping"
START = datetime(2024, 11, 27, 6, tzinfo=UTC)
"""Every stream starts at the same (arbitrary) time; only the minutes between reports matter."""


class StreamReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str = Field(min_length=1)
    id: str = Field(min_length=1)
    minute: int = Field(ge=0)
    kecamatan: KecamatanCode
    village: VillageCode | None
    source: str
    text: str = Field(min_length=1)
    happening: str = Field(min_length=1)


def load_streams(path: Path) -> list[StreamReport]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    rows: list[StreamReport] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(StreamReport.model_validate_json(line))
                except ValueError as exc:
                    raise CorpusError(f"{file}:{number}: {exc}") from exc
    return rows


@dataclass(frozen=True)
class GroupingScore:
    reports: int
    happenings: int
    incidents: int
    true_pairs: int
    found_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.found_pairs if self.found_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def submitted(row: StreamReport) -> ReportSubmitted:
    at = START + timedelta(minutes=row.minute)
    report_id = derived_id(row.id, "report")
    return ReportSubmitted(
        event_id=derived_id(row.id, "event"), occurred_at=at, recorded_at=at, correlation_id=report_id,
        producer="evaluation", actor=Actor.agency(row.source),
        payload=ReportSubmittedPayload(report_id=report_id, agency=row.source, channel="http",
                                       kecamatan_code=row.kecamatan, village_code=row.village, text=row.text))


def grouped(rows: Sequence[StreamReport], rules: RuleSet, model: LinearModel | None, desk: Desk) -> dict[str, str]:
    """Report id -> the incident it ended in (each stream on its own book, as if it were the whole log)."""
    by_stream: dict[str, list[StreamReport]] = defaultdict(list)
    for row in rows:
        by_stream[row.stream].append(row)
    incident_of: dict[str, str] = {}
    for stream in sorted(by_stream):
        book, seq = Book(), 0
        ids: dict[uuid.UUID, str] = {}
        for row in sorted(by_stream[stream], key=lambda r: r.minute):
            event = submitted(row)
            ids[event.payload.report_id] = row.id
            c = classify(row.text, None, rules, model)
            entry = report_entry(event, c.category, c.severity, summarise(row.text))
            for decided in on_report(book.area(row.kecamatan), event, entry, desk):
                seq += 1
                book = fold(book, decided, seq)
        for area in book.areas.values():
            for report_id, incident_id in area.placed.items():
                incident_of[ids[report_id]] = f"{stream}/{incident_id}"
    return incident_of


def measure(rows: Sequence[StreamReport], incident_of: dict[str, str]) -> GroupingScore:
    truth = pairs(_groups((row.id, row.happening) for row in rows))
    found = pairs(_groups(incident_of.items()))
    return GroupingScore(len(rows), len({r.happening for r in rows}), len(set(incident_of.values())),
                         len(truth), len(found), len(truth & found))


def _groups(items: Iterable[tuple[str, str]]) -> list[list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for member, group in items:
        groups[group].append(member)
    return list(groups.values())


def render(name: str, score: GroupingScore) -> str:
    return (f"{name}: {score.reports} reports, {score.happenings} happenings -> {score.incidents} incidents; "
            f"pairwise precision {score.precision:.3f} ({score.correct_pairs}/{score.found_pairs}), "
            f"recall {score.recall:.3f} ({score.correct_pairs}/{score.true_pairs}), F1 {score.f1:.3f}")


def mistakes(rows: Sequence[StreamReport], incident_of: dict[str, str]) -> list[str]:
    """Each report put with others of another happening, or apart from its own (for tuning by hand)."""
    happening = {r.id: r.happening for r in rows}
    lines = []
    by_incident: dict[str, list[str]] = defaultdict(list)
    for report, incident in incident_of.items():
        by_incident[incident].append(report)
    for members in by_incident.values():
        kinds = {happening[m] for m in members}
        if len(kinds) > 1:
            lines.append("joined apart happenings: " + json.dumps(sorted(members)))
    by_happening: dict[str, set[str]] = defaultdict(set)
    for report, h in happening.items():
        by_happening[h].add(incident_of[report])
    lines += [f"split happening {h}: {len(v)} incidents" for h, v in sorted(by_happening.items()) if len(v) > 1]
    return lines
