"""Triage's handler: a ReportSubmitted in, its decision events out (the runtime publishes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from desk_shared.contracts.events import Event, Liaison, ReportSubmitted
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.runtime.consumer import Delivery
from desk_triage.classifier import LinearModel, RuleSet, classify
from desk_triage.decisions import DEFAULT_CHECK_WITHIN, triage_events
from desk_triage.liaisons import kecamatan_liaisons


@dataclass(frozen=True)
class TriageHandler:
    rules: RuleSet
    model: LinearModel | None
    directory: RegionDirectory
    producer: str
    check_within: timedelta = DEFAULT_CHECK_WITHIN
    _liaisons: dict[str, tuple[Liaison, ...]] = field(default_factory=dict)

    async def __call__(self, event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        report = event.payload
        classification = classify(report.text, report.category_hint, self.rules, self.model)
        return triage_events(event, classification, self.liaisons(report.kecamatan_code), self.producer,
                             self.check_within)

    def liaisons(self, kecamatan_code: str) -> tuple[Liaison, ...]:
        found = self._liaisons.get(kecamatan_code)
        if found is None:
            found = self._liaisons[kecamatan_code] = kecamatan_liaisons(kecamatan_code, self.directory)
        return found
