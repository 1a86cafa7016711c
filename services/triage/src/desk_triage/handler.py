"""Triage's handler: a ReportSubmitted in; the report placed in an incident (appended on
condition, see `incident_book`), and its ReportTriaged out (the runtime publishes it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce

from desk_shared.contracts.events import Event, ReportSubmitted
from desk_shared.contracts.incidents import KeyedEvent
from desk_shared.runtime.consumer import Delivery
from desk_shared.runtime.publisher import EventPublisher
from desk_triage.classifier import LinearModel, RuleSet, classify
from desk_triage.decisions import DEFAULT_CHECK_WITHIN, summarise, triaged_event
from desk_triage.incident_book import IncidentBook
from desk_triage.incidents.decide import Desk, on_report, report_entry
from desk_triage.incidents.state import Area, Incident, evolve


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
        placed: list[Incident] = []

        def decide(area: Area) -> list[KeyedEvent]:
            # The incident as this report's own decision leaves it: not as the group commit it is appended with
            # leaves it (a later report of that batch may escalate it), nor as a later reading finds it once the
            # decision is stored (decided again after a lost acknowledgement, it is nothing).
            events = on_report(area, event, entry, self.desk)
            if events or not placed:
                after = reduce(evolve, events, area)
                placed[:] = [after.incidents[after.placed[report.report_id]]]
            return events

        await book.append(publisher, report.kecamatan_code, decide)
        incident = placed[0]
        check = self.check_within if incident.escalated is None else None
        return [triaged_event(event, classification, incident.id, self.desk.producer, check)]
