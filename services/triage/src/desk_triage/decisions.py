"""What triage records about one report once it is placed in an incident. Pure: no I/O; the
event's id and time come from the report, so a replay decides the same event."""

from __future__ import annotations

import uuid
from datetime import timedelta

from desk_shared.contracts.events import ReportSubmitted, ReportTriaged, ReportTriagedPayload
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


def triaged_event(report: ReportSubmitted, classification: Classification, incident_id: uuid.UUID,
                  producer: str, check_within: timedelta | None) -> ReportTriaged:
    """The report's own classification, and the incident it is in. `check_within`: urgency could
    not be ruled out and the incident is not escalated, so a desk officer must answer a 'cek
    segera' check within this time of the report's submission (None: no check)."""
    submitted = report.payload
    due = report.occurred_at + check_within if classification.urgent_check and check_within else None
    return ReportTriaged.caused_by(report, producer, ReportTriagedPayload(
        report_id=submitted.report_id, incident_id=incident_id, kecamatan_code=submitted.kecamatan_code,
        category=classification.category, severity=classification.severity,
        confidence=classification.confidence, severity_confidence=classification.severity_confidence,
        automated=True, needs_review=classification.needs_review, review_reasons=classification.review_reasons,
        rule_set_version=classification.rule_set_version, model_version=classification.model_version,
        evidence=classification.evidence, urgent_check_due=due,
    ))
