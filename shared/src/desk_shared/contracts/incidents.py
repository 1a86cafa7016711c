"""Events about incidents: how reports become incidents, what triage and the desk's officers
decide about them, which agencies must act, and the alert level of each kecamatan.

An incident is the desk's unit of work: one happening, however many reports tell of it. Every
event about an incident (and about a kecamatan's alert level) is keyed: stored under its type's
subject, the kecamatan code and the incident's id, so everything about one kecamatan is one
filter (`desk.event.*.*.11.13.01.*`) and triage replicas append to it with optimistic
concurrency (see `desk_shared.contracts.envelope`)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from desk_shared.contracts.envelope import Contract, Event, KecamatanCode, VillageCode
from desk_shared.contracts.taxonomy import Category, Severity


class Liaison(Contract):
    """Someone who must be alerted, named by role; notify maps the id to a channel."""

    id: str = Field(examples=["polsek:11.13.01"])
    agency: str = Field(examples=["polri", "tni"])
    unit: str = Field(examples=["Polsek Blangkejeren"])


def area_subject(subject: str, kecamatan_code: str, key: uuid.UUID | str) -> str:
    """`<type subject>.<kecamatan's three parts>.<key>`."""
    return f"{subject}.{kecamatan_code}.{key}"


def area_filter(kecamatan_code: str) -> str:
    """Every keyed event about one kecamatan: what a writer's expected sequence is checked against."""
    return f"desk.event.*.*.{kecamatan_code}.*"


class AreaPayload(Contract):
    kecamatan_code: KecamatanCode


class IncidentPayload(AreaPayload):
    incident_id: uuid.UUID


class KeyedEvent(Event):
    """An event stored under its kecamatan and key (see the module's docstring)."""

    KEYED: ClassVar[bool] = True
    BASE: ClassVar[bool] = True
    payload: AreaPayload

    @property
    def key(self) -> str:
        return str(getattr(self.payload, "incident_id", "level"))

    @property
    def address(self) -> str:
        return area_subject(self.subject, self.payload.kecamatan_code, self.key)


# ----------------------------------------------------------------------------- reports become incidents
class ReportPlace(Contract):
    """Where a report says it happened, as far as it says."""

    village_code: VillageCode | None = None
    tps: str | None = Field(None, description="The TPS number the text names ('TPS 03' -> '3').", examples=["3"])


class IncidentReport(ReportPlace):
    """One report of an incident, with its own automatic classification."""

    report_id: uuid.UUID
    reported_at: AwareDatetime
    category: Category
    severity: Severity
    summary: str


class IncidentOpenedPayload(IncidentPayload):
    report: IncidentReport
    category: Category
    severity: Severity


class IncidentOpened(KeyedEvent):
    """A report of a happening no open incident covers opens an incident."""

    payload: IncidentOpenedPayload


class IncidentReportAddedPayload(IncidentPayload):
    report: IncidentReport
    reason: str = Field(description="Why it joined: the signals that matched and their score.",
                        examples=["same village, same kind, 12 min after, similar text 0.71: score 6.2"])


class IncidentReportAdded(KeyedEvent):
    """A report of a happening an open incident covers joins it instead of raising a new alarm."""

    payload: IncidentReportAddedPayload


class IncidentReclassifiedPayload(IncidentPayload):
    category: Category
    previous: Category
    reason: str


class IncidentReclassified(KeyedEvent):
    """The incident's category changed: a happening that grew (automatic) or an officer's correction."""

    payload: IncidentReclassifiedPayload


class IncidentSeverityChangedPayload(IncidentPayload):
    severity: Severity
    previous: Severity
    reason: str


class IncidentSeverityChanged(KeyedEvent):
    payload: IncidentSeverityChangedPayload


# ----------------------------------------------------------------------------- escalation ('cek segera')
class IncidentEscalatedPayload(IncidentPayload):
    report_id: uuid.UUID = Field(description="The report that made it urgent.")
    village_code: VillageCode | None = None
    category: Category
    severity: Severity
    summary: str
    liaisons: tuple[Liaison, ...]
    reason: Literal["severity", "urgency_confirmed", "urgent_check_expired"] = Field(
        "severity", description="Its severity escalates at once; a desk officer confirmed its urgency; or its "
                                "'cek segera' check was not answered in time.")
    reports: int = Field(1, ge=1, description="How many reports the incident had when it was escalated.")


class IncidentEscalated(KeyedEvent):
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


# ----------------------------------------------------------------------------- officers' decisions
class IncidentVerifiedPayload(IncidentPayload):
    category: Category
    severity: Severity
    note: str | None = Field(None, max_length=1000)


class IncidentVerified(KeyedEvent):
    """An officer confirmed the classification: 'otomatis' becomes 'terverifikasi'."""

    payload: IncidentVerifiedPayload


class IncidentNotedPayload(IncidentPayload):
    note: str = Field(min_length=1, max_length=4000)


class IncidentNoted(KeyedEvent):
    payload: IncidentNotedPayload


class ClosingReason(StrEnum):
    RESOLVED = "selesai_ditindaklanjuti"
    NOT_PROVEN = "tidak_terbukti"
    TO_GAKKUMDU = "diteruskan_ke_gakkumdu"
    TO_AGENCY = "diteruskan_ke_instansi"
    DUPLICATE = "duplikat"
    NOT_ELECTORAL = "bukan_kepemiluan"

    @property
    def label(self) -> str:
        return CLOSING_LABELS[self]


CLOSING_LABELS = {
    ClosingReason.RESOLVED: "Selesai ditindaklanjuti",
    ClosingReason.NOT_PROVEN: "Tidak terbukti",
    ClosingReason.TO_GAKKUMDU: "Diteruskan ke Gakkumdu",
    ClosingReason.TO_AGENCY: "Diteruskan ke instansi berwenang",
    ClosingReason.DUPLICATE: "Duplikat laporan lain",
    ClosingReason.NOT_ELECTORAL: "Bukan masalah kepemiluan",
}


class IncidentClosedPayload(IncidentPayload):
    reason: ClosingReason
    note: str | None = Field(None, max_length=1000)


class IncidentClosed(KeyedEvent):
    payload: IncidentClosedPayload


class IncidentReopenedPayload(IncidentPayload):
    note: str = Field(min_length=1, max_length=1000)


class IncidentReopened(KeyedEvent):
    payload: IncidentReopenedPayload


class IncidentMergedPayload(IncidentPayload):
    """`incident_id` takes every report of `merged_incident_id`, which is closed as merged."""

    merged_incident_id: uuid.UUID
    report_ids: tuple[uuid.UUID, ...]
    note: str | None = Field(None, max_length=1000)


class IncidentMerged(KeyedEvent):
    payload: IncidentMergedPayload


class IncidentSplitPayload(IncidentPayload):
    """`report_ids` leave `incident_id` for a new incident, `new_incident_id`."""

    new_incident_id: uuid.UUID
    report_ids: tuple[uuid.UUID, ...] = Field(min_length=1)
    category: Category = Field(description="The new incident's category.")
    severity: Severity = Field(description="The new incident's severity.")
    note: str | None = Field(None, max_length=1000)


class IncidentSplit(KeyedEvent):
    payload: IncidentSplitPayload


# ----------------------------------------------------------------------------- agencies' response
class Stage(StrEnum):
    """How far an assigned agency got: acknowledged, acted (a response on the ground), finished."""

    ACKNOWLEDGED = "acknowledged"
    ACTED = "acted"
    FINISHED = "finished"


class IncidentAssignedPayload(IncidentPayload):
    agency: str = Field(examples=["bawaslu", "polres"])
    reason: str = Field(examples=["routing: money_politics from sedang", "officer"])
    acknowledge_by: AwareDatetime
    act_by: AwareDatetime


class IncidentAssigned(KeyedEvent):
    """An agency must act on the incident, within its deadlines."""

    payload: IncidentAssignedPayload


class IncidentProgressRecordedPayload(IncidentPayload):
    agency: str
    stage: Stage
    note: str | None = Field(None, max_length=2000)


class IncidentProgressRecorded(KeyedEvent):
    """An assigned agency reported its progress (its actor is the agency, or an officer for it)."""

    payload: IncidentProgressRecordedPayload


class IncidentAssignmentOverduePayload(IncidentPayload):
    agency: str
    stage: Literal[Stage.ACKNOWLEDGED, Stage.ACTED] = Field(description="What is late.")
    due: AwareDatetime
    category: Category | None = None
    severity: Severity | None = None
    liaisons: tuple[Liaison, ...] = Field((), description="Who is reminded: the regency desk.")


class IncidentAssignmentOverdue(KeyedEvent):
    """An assigned agency missed a deadline: the desk is reminded."""

    payload: IncidentAssignmentOverduePayload


# ----------------------------------------------------------------------------- the kecamatan's alert level
class AlertLevel(StrEnum):
    AMAN = "aman"
    WASPADA = "waspada"
    SIAGA = "siaga"
    AWAS = "awas"

    @property
    def rank(self) -> int:
        return list(AlertLevel).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class AreaAlertLevelChangedPayload(AreaPayload):
    level: AlertLevel
    previous: AlertLevel
    score: float
    reason: str = Field(examples=["2 open incidents (1 kritis, 1 tinggi), prior 1.0: score 10.0 >= 10 (awas)"])
    liaisons: tuple[Liaison, ...] = Field((), description="Who is alerted: a rise to siaga or awas alerts the "
                                                          "kecamatan's liaisons and the regency desk.")


class AreaAlertLevelChanged(KeyedEvent):
    payload: AreaAlertLevelChangedPayload


INCIDENT_EVENTS = (IncidentOpened, IncidentReportAdded, IncidentReclassified, IncidentSeverityChanged,
                   IncidentEscalated, IncidentVerified, IncidentNoted, IncidentClosed, IncidentReopened,
                   IncidentMerged, IncidentSplit, IncidentAssigned, IncidentProgressRecorded,
                   IncidentAssignmentOverdue, AreaAlertLevelChanged)
"""Every keyed event: what triage's incident book folds."""

