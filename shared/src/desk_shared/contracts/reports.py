"""Events about agencies' reports: submitted by intake, triaged by triage."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from desk_shared.contracts.envelope import Contract, Event, KecamatanCode, RawEvent, Upcaster, VillageCode
from desk_shared.contracts.privacy import Sealed
from desk_shared.contracts.taxonomy import Category, Severity


class ReportSubmittedPayload(Contract):
    report_id: uuid.UUID
    agency: str
    channel: Literal["http", "nats"]
    kecamatan_code: KecamatanCode
    village_code: VillageCode | None = None
    text: str
    occurred_at: AwareDatetime | None = Field(None, description="When the reported happening took place.")
    category_hint: Category | None = None
    idempotency_key: str | None = None
    reporter: Sealed | None = Field(None, description="Who reported it (ReporterDetails), sealed with the report's "
                                                      "own key: erasable personal data.")


class ReporterDetails(Contract):
    """A reporter's personal data, as sealed in `ReportSubmitted.reporter` (at least one of them)."""

    name: str | None = Field(None, min_length=1, max_length=200, examples=["Budi Santoso"])
    phone: str | None = Field(None, min_length=4, max_length=40, pattern=r"^\+?[0-9 ().-]{4,40}$",
                              examples=["+62 812 3456 7890"])

    @model_validator(mode="after")
    def _something(self) -> ReporterDetails:
        if self.name is None and self.phone is None:
            raise ValueError("a reporter needs a name or a phone number")
        return self


def _actor_from_agency(raw: RawEvent) -> RawEvent:
    """Version 1 had no actor: the submitting agency is the one who acted."""
    agency = (raw.get("payload") or {}).get("agency") or "anonymous"
    return {**raw, "actor": {"kind": "agency", "id": agency}}


class ReportSubmitted(Event):
    UPCASTERS: ClassVar[Mapping[int, Upcaster]] = {1: _actor_from_agency}
    payload: ReportSubmittedPayload


class ReportTriagedPayload(Contract):
    report_id: uuid.UUID
    incident_id: uuid.UUID
    kecamatan_code: KecamatanCode
    category: Category
    severity: Severity
    confidence: float = Field(ge=0, le=1, description="How sure the category is.")
    severity_confidence: float | None = Field(None, ge=0, le=1, description="How sure the severity is.")
    automated: bool = Field(True, description="Machine-derived ('otomatis') until a desk officer confirms it.")
    needs_review: bool = Field(False, description="The decision is uncertain: a desk officer must look at it.")
    review_reasons: tuple[str, ...] = Field((), examples=[["low_confidence", "rules_and_model_disagree"]])
    rule_set_version: str
    model_version: str | None = Field(None, description="The statistical model that contributed, if any.")
    evidence: tuple[str, ...] = Field((), description="The phrases, model features and modifiers that decided it.")
    urgent_check_due: AwareDatetime | None = Field(
        None, description="'Cek segera': urgency could not be ruled out; unless a desk officer confirms or dismisses "
                          "it before this time, the incident is escalated then.")


class ReportTriaged(Event):
    payload: ReportTriagedPayload


class ReportReporterErasedPayload(Contract):
    report_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)


class ReportReporterErased(Event):
    """The key of a report's reporter was destroyed: who reported it can no longer be read anywhere."""

    payload: ReportReporterErasedPayload
