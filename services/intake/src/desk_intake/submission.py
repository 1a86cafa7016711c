"""What an agency submits, how it is checked, and the ReportSubmitted it becomes (pure)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from desk_shared.contracts.agencies import AgencyCode, Areas
from desk_shared.contracts.events import (
    Actor,
    KecamatanCode,
    ReportSubmitted,
    ReportSubmittedPayload,
    VillageCode,
    derived_id,
    utc_now,
)
from desk_shared.contracts.regions import regions
from desk_shared.contracts.reports import ReporterDetails
from desk_shared.contracts.taxonomy import Category

MAX_TEXT_CHARS = 10_000
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_OCCURRENCE = datetime(2000, 1, 1, tzinfo=UTC)
"""No report is about a happening before this: an earlier date is a mistake (a default year 1)."""
ANONYMOUS_AGENCY = "anonymous"

IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,200}$")]
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
"""A date-time as the schema's `format: date-time` means it: pydantic alone would also take a number of
seconds ("1700000000"), minutes without seconds, or "+0700"."""


class SubmitReport(BaseModel):
    """A report as an agency sends it (HTTP body or NATS request)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    """No stripping before the constraints: what the schema documents (lengths, code patterns) holds for
    the body as sent; only the text is stripped, after its length is checked."""

    kecamatan: KecamatanCode = Field(description="Kecamatan code, dotted (e.g. 11.13.01).")
    village: VillageCode | None = Field(None, description="Village (desa/kelurahan) code inside that kecamatan.")
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)] = Field(
        description="What happened, in Bahasa Indonesia."
    )
    occurred_at: AwareDatetime | None = Field(None, description="When it happened (ISO 8601 with a time zone).")
    category_hint: Category | None = Field(None, description="The agency's own category, weighed by triage.")
    agency: AgencyCode | None = Field(None, description="Reporting agency code, e.g. kpu, bawaslu, polres.")
    idempotency_key: IdempotencyKey | None = Field(
        None, description="Same key, same report: a resubmission creates nothing new (also as Idempotency-Key header)."
    )
    reporter: ReporterDetails | None = Field(
        None, description="Who reported it (name, phone): personal data, sealed with the report's own key before it "
                          "is stored, shown only to desk officers and auditors, erasable.")

    @field_validator("text")
    @classmethod
    def _stripped_text(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the text is empty (only spaces)")
        return text.strip()

    @field_validator("kecamatan")
    @classmethod
    def _known_kecamatan(cls, code: str) -> str:
        if regions().kecamatan_of(code) is None:
            raise ValueError(f"unknown kecamatan code {code!r}")
        return code

    @field_validator("village")
    @classmethod
    def _known_village(cls, code: str | None) -> str | None:
        if code is not None and regions().village_of(code) is None:
            raise ValueError(f"unknown village code {code!r}")
        return code

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339(cls, at: object) -> object:
        if at is None or isinstance(at, datetime) or (isinstance(at, str) and RFC3339.fullmatch(at)):
            return at
        raise ValueError("occurred_at must be an RFC 3339 date-time with a time zone, e.g. 2024-11-27T08:30:00+07:00")

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, at: datetime | None) -> datetime | None:
        if at is None:
            return None
        try:
            in_utc = at.astimezone(UTC)
        except OverflowError:
            raise ValueError("occurred_at cannot be expressed in UTC") from None
        if in_utc < EARLIEST_OCCURRENCE:
            raise ValueError(f"occurred_at is before {EARLIEST_OCCURRENCE:%Y-%m-%d}")
        if in_utc > utc_now() + CLOCK_SKEW:
            raise ValueError("occurred_at is in the future")
        return at


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def field_problems(errors: Iterable[Mapping[str, Any]]) -> list[FieldProblem]:
    """Pydantic's errors (`ValidationError.errors()`), named by field ("body" for the whole)."""
    found = []
    for item in errors:
        loc = [str(part) for part in item["loc"] if part != "body"]
        found.append(FieldProblem(".".join(loc) or "body", str(item["msg"]).removeprefix("Value error, ")))
    return found


class KeyReused(ValueError):
    """An idempotency key already names a different report of the same agency (HTTP 409)."""


def same_report(new: ReportSubmitted, stored: ReportSubmitted | None) -> bool:
    """Whether a resubmission is the stored report again (through either door), or an
    unknown stored one (nothing to compare: taken as the same)."""
    if stored is None:
        return True
    fields = {"channel"}
    return new.payload.model_dump(exclude=fields) == stored.payload.model_dump(exclude=fields)


class OutsideAreas(PermissionError):
    """The agency may not report for the report's kecamatan (HTTP 403); the message says where it may."""


class Rejected(ValueError):
    """A well-formed submission this desk does not accept."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def accept(report: SubmitReport, *, channel: Literal["http", "nats"], agency: str | None,
           header_key: str | None, scope: frozenset[str], areas: Areas | None = None) -> ReportSubmitted:
    """The event for an accepted submission, or `Rejected` with every reason, or `OutsideAreas`
    when the report is valid but the agency (its `areas`, when known) may not report there.

    A report with an idempotency key gets an id derived from (agency, key), so a resubmission
    maps to the same event id, which JetStream drops as a duplicate."""
    problems: list[FieldProblem] = []
    if header_key and report.idempotency_key and header_key != report.idempotency_key:
        problems.append(FieldProblem("idempotency_key", "differs from the Idempotency-Key header"))
    if report.agency and agency and report.agency != agency:
        problems.append(FieldProblem("agency", f"submitting as {agency!r}, not {report.agency!r}"))
    if report.village and not report.village.startswith(report.kecamatan + "."):
        problems.append(FieldProblem("village", f"village {report.village} is not in kecamatan {report.kecamatan}"))
    regency = report.kecamatan.rsplit(".", 1)[0]
    if scope and regency not in scope:
        problems.append(FieldProblem("kecamatan", f"outside this desk's regencies ({', '.join(sorted(scope))})"))
    if problems:
        raise Rejected(problems)
    if areas is not None and not areas.covers(report.kecamatan):
        raise OutsideAreas(f"agency {agency} may report only for {areas.describe() or 'no area'}, "
                           f"not for kecamatan {report.kecamatan}")
    who = agency or report.agency or ANONYMOUS_AGENCY
    key = header_key or report.idempotency_key
    report_id = derived_id(who, f"report:{key}") if key else uuid.uuid4()
    now = utc_now()
    payload = ReportSubmittedPayload(
        report_id=report_id, agency=who, channel=channel, kecamatan_code=report.kecamatan,
        village_code=report.village, text=report.text, occurred_at=report.occurred_at,
        category_hint=report.category_hint, idempotency_key=key,
    )
    return ReportSubmitted(event_id=report_id, occurred_at=now, recorded_at=now, correlation_id=report_id,
                           producer="intake", actor=Actor.agency(who), payload=payload)
