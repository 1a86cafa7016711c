"""The API's response shapes, and how read-model rows become them (names, labels, UTC times)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Row

from desk_projection.redaction import redact_personal
from desk_shared.contracts.incidents import ClosingReason
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.contracts.taxonomy import Category, Severity

CLASSIFICATION_AUTOMATED = "otomatis"
CLASSIFICATION_VERIFIED = "terverifikasi"
STATUS_LABELS = {"triaged": "Ditriase", "escalated": "Dieskalasi ke aparat", "closed": "Ditutup",
                 "merged": "Digabung ke insiden lain"}
FREE_TEXT_FIELDS = frozenset({"note", "reason"})
"""Timeline summary fields people write freely (and may put a phone number in)."""
LEVEL_LABELS = {"aman": "Aman", "waspada": "Waspada", "siaga": "Siaga", "awas": "Awas"}


class IncidentItem(BaseModel):
    incident_id: uuid.UUID
    report_id: uuid.UUID
    kecamatan_code: str
    kecamatan_name: str | None
    regency_code: str | None
    regency_name: str | None
    village_code: str | None
    village_name: str | None
    category: str = Field(examples=["violence"])
    category_label: str = Field(examples=["Kekerasan dan kerusuhan"])
    severity: str = Field(examples=["tinggi"], description="rendah, sedang, tinggi or kritis.")
    classification: str = Field(description="'otomatis' (machine-derived) until a desk officer confirms it "
                                            "('terverifikasi').")
    confidence: float | None
    needs_review: bool = Field(description="The automatic classification is uncertain: a desk officer must check it.")
    status: str = Field(examples=["triaged", "escalated"])
    status_label: str
    summary: str | None = Field(description="The text of the report that opened the incident.")
    agency: str | None
    occurred_at: datetime | None = Field(description="When the reported happening took place, if the report said.")
    reported_at: datetime | None = Field(description="When the report was accepted by intake.")
    opened_at: datetime
    escalated_at: datetime | None
    alerts_delivered: int
    alerts_failed: int
    urgent_check: str | None = Field(None, examples=["open"], description="'Cek segera': open (a desk officer "
                                     "must answer before urgent_check_due), confirmed, dismissed or expired "
                                     "(escalated at its deadline); null when urgency was clear.")
    urgent_check_due: datetime | None = None
    report_count: int = Field(1, description="How many reports tell of this incident.")
    closed_reason: str | None = Field(None, examples=["selesai_ditindaklanjuti"])
    closed_reason_label: str | None = None
    closed_at: datetime | None = None
    merged_into: uuid.UUID | None = Field(None, description="The incident this one was merged into.")


class AsOf(BaseModel):
    """What an archive's read models are as of (`desk-projection replay --until`)."""

    sequence: int = Field(description="The last stream sequence replayed into the archive.")
    stored_at: datetime = Field(description="When the log stored the message at `sequence`.")
    asked_for: datetime | None = Field(description="The time the archive was asked for (null: a sequence was).")
    label: str = Field(examples=["Arsip — keadaan per 14 Februari 2024 10.00 WIB (sampai urutan log 12345, "
                                 "peristiwa terakhir tersimpan 14 Februari 2024 09.58.31 WIB)"],
                       description="What the board's banner says.")


class Me(BaseModel):
    login: str
    roles: list[str] = Field(examples=[["desk_officer"]])
    capabilities: list[str] = Field(examples=[["decide", "read_board", "read_personal"]])
    as_of: AsOf | None = Field(None, description="Set when this server serves an archive (read-only, the read "
                                                 "models as they were then): no action can be taken here.")


class IncidentReportItem(BaseModel):
    """One report of an incident, with its own automatic classification."""

    report_id: uuid.UUID
    agency: str
    channel: str
    village_code: str | None
    text: str
    reported_at: datetime
    category: str | None
    severity: str | None
    confidence: float | None
    needs_review: bool | None
    evidence: list[str]
    classification: str = Field(CLASSIFICATION_AUTOMATED, description="A report's own classification is always "
                                                                      "'otomatis'.")


class AssignmentItem(BaseModel):
    incident_id: uuid.UUID
    agency: str = Field(examples=["bawaslu"])
    kecamatan_code: str
    reason: str
    assigned_at: datetime
    acknowledge_by: datetime
    act_by: datetime
    acknowledged_at: datetime | None
    acted_at: datetime | None
    finished_at: datetime | None
    sla: str = Field(examples=["tepat_waktu"], description="tepat_waktu (within its deadlines), terlambat (a "
                     "deadline passed without the stage reported) or selesai.")
    overdue: list[str] = Field(description="Deadlines missed (acknowledged, acted), each reported to the desk.")
    category: str | None = None
    severity: str | None = None
    status: str | None = None


class AgencyQueue(BaseModel):
    agency: str
    items: list[AssignmentItem]


class AgencyPerformance(BaseModel):
    agency: str
    assigned: int
    acknowledged: int
    finished: int
    overdue: int
    median_minutes_to_acknowledge: float | None
    median_minutes_to_finish: float | None
    median_minutes_to_close: float | None = Field(description="From assignment to the incident's closing.")


class AreaLevel(BaseModel):
    kecamatan_code: str
    kecamatan_name: str | None
    level: str = Field(examples=["siaga"])
    level_label: str
    previous: str
    score: float
    reason: str
    since: datetime


class IncidentPage(BaseModel):
    items: list[IncidentItem]
    total: int
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    seq: int
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    producer: str
    summary: dict[str, Any]


class IncidentDetail(IncidentItem):
    evidence: list[str]
    review_reasons: list[str] = Field(examples=[["low_confidence"]])
    severity_confidence: float | None
    rule_set_version: str | None
    model_version: str | None
    liaisons: list[dict[str, Any]]
    timeline: list[TimelineEntry]
    reporter: ReporterShown | None = Field(
        None, description="Who reported it: only for desk officers and auditors (each showing is recorded in the "
                          "log); null for other roles and for reports without one.")
    reporter_redacted: bool = Field(False, description="There is a reporter, hidden from this person's role.")
    actors: dict[str, str] = Field({}, description="The login of each person the timeline names ('person:<id>').")
    reports: list[IncidentReportItem] = Field([], description="Every report of the incident, oldest first.")
    assignments: list[AssignmentItem] = Field([], description="The agencies that must act, with their deadlines.")


class ReporterShown(BaseModel):
    name: str | None = None
    phone: str | None = None
    erased: bool = Field(False, description="The reporter's data was erased (its key destroyed).")


class KecamatanSituation(BaseModel):
    code: str
    name: str | None
    regency_code: str | None
    regency_name: str | None
    incidents: int
    reports: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    highest_severity: str | None
    last_report_at: datetime | None
    level: str = Field("aman", description="The kecamatan's alert level: aman, waspada, siaga or awas.")
    level_label: str = "Aman"
    unverified: int = Field(0, description="Open incidents whose classification is still 'otomatis' (not yet "
                                           "verified by a desk officer).")
    trend: list[int] = Field(default_factory=list, description="Reports received per hour over the last 24 hours "
                                                               "(UTC hours, oldest first).")


class Situation(BaseModel):
    position: int = Field(description="The last stream sequence reflected in these numbers.")
    incidents: int
    by_severity: dict[str, int]
    kecamatan: list[KecamatanSituation]
    as_of: AsOf | None = Field(None, description="Set when this server serves an archive: the situation as it "
                                                 "was then.")


class Stats(BaseModel):
    bucket: str = Field(examples=["hour"])
    starts: list[datetime] = Field(description="Where each bucket begins.")
    reports: dict[str, list[int]] = Field(description="Per category (the reports' own, automatic), a count per "
                                                      "bucket.")
    category_labels: dict[str, str]
    response_times: dict[str, dict[str, float | int | None]] = Field(
        description="escalate, acknowledge, close: n, median_minutes, p90_minutes (from the incident's opening)")


class SkippedInfo(BaseModel):
    seq: int
    event_type: str | None
    reason: str


class RetryingInfo(BaseModel):
    seq: int | None = Field(description="The event retried; null when writing to the database fails as such.")
    attempts: int
    max_attempts: int | None = Field(description="After this many the event is dead-lettered and skipped; null: "
                                                 "retried until it works.")
    reason: str


class Health(BaseModel):
    status: str = Field(examples=["ok", "degraded", "error"],
                        description="ok; degraded (retrying, events skipped, or NATS unreachable); error (stopped: "
                                    "the log is not the one the read models were projected from).")
    position: int
    stream_last_sequence: int | None
    lag: int | None = Field(description="Events of the log not yet applied; null when unknown (never clamped).")
    detail: str | None = None
    skipped: int = Field(0, description="Events the read models lack (dead-lettered).")
    last_skipped: SkippedInfo | None = None
    retrying: RetryingInfo | None = None


def as_utc(at: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def category_label(code: str) -> str:
    try:
        return Category(code).label
    except ValueError:  # a category from a newer triage
        return code


def severity_rank(code: str) -> int:
    try:
        return Severity(code).rank
    except ValueError:
        return -1


def _area_fields(directory: RegionDirectory, kecamatan_code: str) -> dict[str, str | None]:
    kecamatan = directory.kecamatan_of(kecamatan_code)
    regency = directory.regency_of_kecamatan(kecamatan_code)
    return {"kecamatan_name": kecamatan.name if kecamatan else None,
            "regency_code": regency.code if regency else None,
            "regency_name": regency.name if regency else None}


def incident_fields(row: Row, directory: RegionDirectory, redact: bool = False) -> dict[str, Any]:
    """`redact`: phone numbers, NIK and e-mail addresses in free text hidden (roles without personal data)."""
    village = directory.village_of(row.village_code) if row.village_code else None
    return {
        "incident_id": row.incident_id, "report_id": row.report_id, "kecamatan_code": row.kecamatan_code,
        **_area_fields(directory, row.kecamatan_code),
        "village_code": row.village_code, "village_name": village.name if village else None,
        "category": row.category, "category_label": category_label(row.category), "severity": row.severity,
        "classification": CLASSIFICATION_AUTOMATED if row.automated else CLASSIFICATION_VERIFIED,
        "confidence": row.confidence, "needs_review": row.needs_review, "status": row.status,
        "status_label": STATUS_LABELS.get(row.status, row.status),
        "summary": _shown(row.text, redact), "agency": row.agency, "occurred_at": as_utc(row.report_occurred_at),
        "reported_at": as_utc(row.submitted_at), "opened_at": as_utc(row.opened_at),
        "escalated_at": as_utc(row.escalated_at), "alerts_delivered": row.alerts_delivered,
        "alerts_failed": row.alerts_failed, "urgent_check": row.urgent_check,
        "urgent_check_due": as_utc(row.urgent_check_due), "report_count": row.report_count,
        "closed_reason": row.closed_reason, "closed_reason_label": _closing_label(row.closed_reason),
        "closed_at": as_utc(row.closed_at), "merged_into": row.merged_into,
    }


def _closing_label(code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return ClosingReason(code).label
    except ValueError:
        return code


def sla_state(row: Row, now: datetime) -> str:
    """Where an assignment stands against its deadlines at `now` (the only use of the clock: display)."""
    if row.finished_at is not None:
        return "selesai"
    acknowledged = row.acknowledged_at is not None or row.acted_at is not None
    late = (not acknowledged and as_utc(row.acknowledge_by) < now) or (row.acted_at is None
                                                                        and as_utc(row.act_by) < now)
    return "terlambat" if late or row.overdue else "tepat_waktu"


def assignment_item(row: Row, now: datetime, redact: bool = False) -> AssignmentItem:
    mapping = row._mapping
    return AssignmentItem(
        incident_id=row.incident_id, agency=row.agency, kecamatan_code=row.kecamatan_code,
        reason=_shown(row.reason, redact) or "",
        assigned_at=as_utc(row.assigned_at), acknowledge_by=as_utc(row.acknowledge_by), act_by=as_utc(row.act_by),
        acknowledged_at=as_utc(row.acknowledged_at), acted_at=as_utc(row.acted_at),
        finished_at=as_utc(row.finished_at), sla=sla_state(row, now), overdue=list(row.overdue or []),
        category=mapping.get("category"), severity=mapping.get("incident_severity"), status=mapping.get("status"))


def _shown(text: str | None, redact: bool) -> str | None:
    return redact_personal(text) if redact and text else text


def _shown_summary(summary: dict[str, Any], redact: bool) -> dict[str, Any]:
    """A timeline entry's summary: its free-text fields (notes, texts) redacted when asked."""
    if not redact:
        return summary
    return {k: _shown(v, True) if k in FREE_TEXT_FIELDS and isinstance(v, str) else v for k, v in summary.items()}


def report_item(row: Row, redact: bool = False) -> IncidentReportItem:
    return IncidentReportItem(report_id=row.report_id, agency=row.agency, channel=row.channel,
                              village_code=row.village_code, text=_shown(row.text, redact) or "",
                              reported_at=as_utc(row.submitted_at),
                              category=row.category, severity=row.severity, confidence=row.confidence,
                              needs_review=row.needs_review, evidence=list(row.evidence or []))


def incident_item(row: Row, directory: RegionDirectory, redact: bool = False) -> IncidentItem:
    return IncidentItem(**incident_fields(row, directory, redact))


def incident_detail(row: Row, events: list[Row], directory: RegionDirectory, reports: list[Row] | None = None,
                    assignments: list[Row] | None = None, now: datetime | None = None,
                    redact: bool = False) -> IncidentDetail:
    entries = [TimelineEntry(seq=e.stream_seq, event_id=e.event_id, event_type=e.event_type,
                             occurred_at=as_utc(e.occurred_at), recorded_at=as_utc(e.recorded_at),
                             producer=e.producer, summary=_shown_summary(e.summary, redact)) for e in events]
    return IncidentDetail(**incident_fields(row, directory, redact), evidence=row.evidence,
                          review_reasons=row.review_reasons or [], severity_confidence=row.severity_confidence,
                          rule_set_version=row.rule_set_version, model_version=row.model_version,
                          liaisons=row.liaisons, timeline=entries,
                          reports=[report_item(r, redact) for r in reports or []],
                          assignments=[assignment_item(a, now or datetime.now(UTC), redact)
                                       for a in assignments or []])


def empty_kecamatan(code: str, directory: RegionDirectory) -> KecamatanSituation:
    area = _area_fields(directory, code)
    return KecamatanSituation(code=code, name=area["kecamatan_name"], regency_code=area["regency_code"],
                              regency_name=area["regency_name"], incidents=0, reports=0, by_category={},
                              by_severity={s.value: 0 for s in Severity}, highest_severity=None,
                              last_report_at=None)
