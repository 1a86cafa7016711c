"""What triage decides about one report, as the events it emits. Pure: no I/O; the events'
ids and times come from the report, so a replay decides the same events."""

from __future__ import annotations

from datetime import timedelta

from desk_shared.contracts.events import (
    Event,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    ReportSubmitted,
    ReportTriaged,
    ReportTriagedPayload,
    derived_id,
)
from desk_triage.classifier import Classification

SUMMARY_LIMIT = 280
DEFAULT_CHECK_WITHIN = timedelta(minutes=5)


def summarise(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """The report text on one line, cut at a word boundary to fit an alert."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def triage_events(report: ReportSubmitted, classification: Classification, liaisons: tuple[Liaison, ...],
                  producer: str, check_within: timedelta = DEFAULT_CHECK_WITHIN) -> list[Event]:
    """ReportTriaged always; IncidentEscalated too when the severity escalates. A report whose
    urgency cannot be ruled out gets a 'cek segera' deadline `check_within` after it was submitted.

    Walking skeleton: every report opens its own incident (clustering comes later)."""
    submitted = report.payload
    incident_id = derived_id(submitted.report_id, "incident")
    due = report.occurred_at + check_within if classification.urgent_check else None
    triaged = ReportTriaged.caused_by(report, producer, ReportTriagedPayload(
        report_id=submitted.report_id, incident_id=incident_id, kecamatan_code=submitted.kecamatan_code,
        category=classification.category, severity=classification.severity,
        confidence=classification.confidence, severity_confidence=classification.severity_confidence,
        automated=True, needs_review=classification.needs_review, review_reasons=classification.review_reasons,
        rule_set_version=classification.rule_set_version, model_version=classification.model_version,
        evidence=classification.evidence, urgent_check_due=due,
    ))
    if not classification.severity.escalates:
        return [triaged]
    escalated = IncidentEscalated.caused_by(report, producer, IncidentEscalatedPayload(
        incident_id=incident_id, report_id=submitted.report_id, kecamatan_code=submitted.kecamatan_code,
        village_code=submitted.village_code, category=classification.category,
        severity=classification.severity, summary=summarise(submitted.text), liaisons=liaisons,
    ))
    return [triaged, escalated]
