"""Events about incidents: what triage escalates, and to whom."""

from __future__ import annotations

import uuid

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


class IncidentEscalated(Event):
    payload: IncidentEscalatedPayload
