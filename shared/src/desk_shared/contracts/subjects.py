"""Every NATS subject the system uses. No subject string appears anywhere else.

Event subjects are derived from the event types (`Event.subject`): a new event type needs
no edit here."""

from __future__ import annotations

EVENTS_ROOT = "desk.event"
"""All events in the log live under `desk.event.>` (the event stream's subjects)."""
ALL_EVENTS = f"{EVENTS_ROOT}.>"

DEAD_LETTER_ROOT = "desk.deadletter"
ALL_DEAD_LETTERS = f"{DEAD_LETTER_ROOT}.>"

AGENCY_EVENTS = f"{EVENTS_ROOT}.agency.>"
"""Every event about agencies and their keys (`AgencyRegistered`, `AgencyKeyIssued`, ...): one
filter, so a reader sees them in log order."""

CONTACT_EVENTS = f"{EVENTS_ROOT}.contact.>"
"""Every event about the contacts notify alerts (`ContactRegistered`, ...)."""

PEOPLE_EVENTS = f"{EVENTS_ROOT}.person.>"
"""Every event about the desk's people (`PersonRegistered`, `PersonDisabled`, ...)."""

INTAKE_ROOT = "desk.intake"
INTAKE_REPORTS = f"{INTAKE_ROOT}.*.report"
"""Agencies submit with NATS request-reply to `desk.intake.<agency>.report`."""


ACCESS_LOGIN = "desk.access.login"
"""A page that serves people (the board) relays a login form here (NATS request-reply); access answers."""
ACCESS_LOGOUT = "desk.access.logout"
TRIAGE_COMMAND = "desk.triage.command"
"""A page that serves people relays an officer's command on an incident here (request-reply); triage answers."""

INBOX_ROOT = "_INBOX"


def inbox_prefix(user: str) -> str:
    """Where a NATS user gets its replies (`_INBOX.<user>.*`): no user may listen to another's."""
    return f"{INBOX_ROOT}.{user}"


def event_subject(name: str) -> str:
    """The subject of an event type named `name` (`report.submitted`)."""
    return f"{EVENTS_ROOT}.{name}"


def dead_letter_subject(consumer: str) -> str:
    return f"{DEAD_LETTER_ROOT}.{consumer}"


def intake_report_subject(agency: str) -> str:
    return f"{INTAKE_ROOT}.{agency}.report"


def agency_of_intake_subject(subject: str) -> str:
    return subject.split(".")[2]
