"""Every NATS subject the system uses. No subject string appears anywhere else."""

from __future__ import annotations

EVENTS_ROOT = "desk.event"
"""All events in the log live under `desk.event.>` (the event stream's subjects)."""

REPORT_SUBMITTED = f"{EVENTS_ROOT}.report.submitted"
REPORT_TRIAGED = f"{EVENTS_ROOT}.report.triaged"
INCIDENT_ESCALATED = f"{EVENTS_ROOT}.incident.escalated"
ALERT_DELIVERED = f"{EVENTS_ROOT}.alert.delivered"
ALERT_FAILED = f"{EVENTS_ROOT}.alert.failed"
ALL_EVENTS = f"{EVENTS_ROOT}.>"

EVENT_SUBJECTS: dict[str, str] = {
    "ReportSubmitted": REPORT_SUBMITTED,
    "ReportTriaged": REPORT_TRIAGED,
    "IncidentEscalated": INCIDENT_ESCALATED,
    "AlertDelivered": ALERT_DELIVERED,
    "AlertFailed": ALERT_FAILED,
}

DEAD_LETTER_ROOT = "desk.deadletter"
ALL_DEAD_LETTERS = f"{DEAD_LETTER_ROOT}.>"

INTAKE_ROOT = "desk.intake"
INTAKE_REPORTS = f"{INTAKE_ROOT}.*.report"
"""Agencies submit with NATS request-reply to `desk.intake.<agency>.report`."""


def subject_for(event_type: str) -> str:
    return EVENT_SUBJECTS[event_type]


def dead_letter_subject(consumer: str) -> str:
    return f"{DEAD_LETTER_ROOT}.{consumer}"


def intake_report_subject(agency: str) -> str:
    return f"{INTAKE_ROOT}.{agency}.report"


def agency_of_intake_subject(subject: str) -> str:
    return subject.split(".")[2]
