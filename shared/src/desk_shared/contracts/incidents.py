"""Events about incidents: what triage escalates, and to whom."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from desk_shared.contracts.envelope import Contract, Event, KecamatanCode, VillageCode
from desk_shared.contracts.taxonomy import Category, Severity


class Liaison(Contract):
    """Someone who must be alerted, named by role; notify maps the id to a channel."""

    id: str = Field(examples=["polsek:11.13.01"])
    agency: str = Field(examples=["polri", "tni"])
    unit: str = Field(examples=["Polsek Blangkejeren"])


class IncidentEscalatedPayload(Contract):
    incident_id: uuid.UUID
    report_id: uuid.UUID
    kecamatan_code: KecamatanCode
    village_code: VillageCode | None = None
    category: Category
    severity: Severity
    summary: str
    liaisons: tuple[Liaison, ...]
    reason: Literal["severity", "urgency_confirmed", "urgent_check_expired"] = Field(
        "severity", description="Its severity escalates at once; a desk officer confirmed its urgency; or its "
                                "'cek segera' check was not answered in time.")


class IncidentEscalated(Event):
    payload: IncidentEscalatedPayload


class UrgencyAnswerPayload(Contract):
    incident_id: uuid.UUID
    report_id: uuid.UUID
    note: str | None = Field(None, max_length=1000)


class IncidentUrgencyConfirmed(Event):
    """A desk officer answered a 'cek segera' check: urgent (the incident is escalated with it)."""

    payload: UrgencyAnswerPayload


class IncidentUrgencyDismissed(Event):
    """A desk officer answered a 'cek segera' check: not urgent (no escalation)."""

    payload: UrgencyAnswerPayload
