"""Triage's handler: a ReportSubmitted in; the report placed in an incident (appended on
condition, see `incident_book`), and its ReportTriaged out (the runtime publishes it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from desk_shared.contracts.events import Event, ReportSubmitted
from desk_shared.runtime.consumer import Delivery
from desk_shared.runtime.publisher import EventPublisher
from desk_triage.classifier import LinearModel, RuleSet, classify
from desk_triage.decisions import DEFAULT_CHECK_WITHIN, summarise, triaged_event
from desk_triage.incident_book import IncidentBook
from desk_triage.incidents.decide import Desk, on_report, report_entry


@dataclass(frozen=True)
class TriageHandler:
    rules: RuleSet
    model: LinearModel | None
    desk: Desk
    book: Callable[[], tuple[IncidentBook, EventPublisher]]
    """The incident book and the publisher it appends with (ready before any report is handled)."""
    check_within: timedelta = DEFAULT_CHECK_WITHIN

    async def __call__(self, event: ReportSubmitted, delivery: Delivery) -> list[Event]:
        report = event.payload
        classification = classify(report.text, report.category_hint, self.rules, self.model)
        entry = report_entry(event, classification.category, classification.severity, summarise(report.text))
        book, publisher = self.book()
        _, area = await book.append(publisher, report.kecamatan_code,
                                    lambda now: on_report(now, event, entry, self.desk))
        incident = area.incidents[area.placed[report.report_id]]
        check = self.check_within if incident.escalated is None else None
        return [triaged_event(event, classification, incident.id, self.desk.producer, check)]
