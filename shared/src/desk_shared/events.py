"""Event contracts: the envelope every fact in the log carries, and the first event types.

Events are immutable and past tense. Producers emit strictly (unknown fields are an error
when an event is built); consumers read tolerantly through `decode_event`, which ignores
fields they do not know, so a newer producer never breaks an older consumer.
A change to an event is additive; a rename or a change of meaning is a new event type.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from desk_shared.taxonomy import Category, Severity

EVENT_NAMESPACE = uuid.UUID("5f0e1c0a-6b5e-4d0e-9a51-6465736b2d70")
"""uuid5 namespace of every id the system derives (report ids from idempotency keys, ...)."""

KecamatanCode = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$", examples=["11.13.01"])]
VillageCode = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$", examples=["11.13.01.2001"])]


def utc_now() -> datetime:
    return datetime.now(UTC)


def derived_id(cause: uuid.UUID | str, what: str) -> uuid.UUID:
    """The id of something derived from `cause`: the same cause and purpose give the same id,
    so a redelivered input republishes the same `Nats-Msg-Id` and JetStream drops it."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{cause}:{what}")


class Contract(BaseModel):
    """Base of every contract: frozen, strict on construction, tolerant when decoding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_when_reading(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("tolerant") and isinstance(data, dict):
            return {k: v for k, v in data.items() if k in cls.model_fields}
        return data


# ----------------------------------------------------------------------------- payloads
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


class AlertOutcomePayload(Contract):
    alert_id: uuid.UUID
    incident_id: uuid.UUID
    liaison_id: str
    channel: Literal["webhook"]
    attempts: int = Field(ge=0)


class AlertDeliveredPayload(AlertOutcomePayload):
    status_code: int


class AlertFailedPayload(AlertOutcomePayload):
    reason: str


# ----------------------------------------------------------------------------- envelope
class Event(Contract):
    """The envelope. `occurred_at` is when the fact happened (a report accepted, a decision
    taken); `recorded_at` is when it was handed to the log."""

    event_type: ClassVar[str]
    schema_version: int = 1
    event_id: uuid.UUID
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    producer: str

    @model_validator(mode="before")
    @classmethod
    def _check_type(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            seen = data.pop("type", cls.event_type)
            if seen != cls.event_type:
                raise ValueError(f"event type {seen!r} is not {cls.event_type!r}")
        return data

    def to_json(self) -> bytes:
        body = self.model_dump(mode="json")
        return _dumps({"type": self.event_type, **body})

    @classmethod
    def caused_by(cls, cause: Event, producer: str, payload: Any, now: datetime | None = None) -> Self:
        """A derived event: its id is a function of the cause, so redelivery makes no duplicate."""
        at = now or utc_now()
        return cls(event_id=derived_id(cause.event_id, cls.event_type), occurred_at=at, recorded_at=at,
                   correlation_id=cause.correlation_id, causation_id=cause.event_id, producer=producer,
                   payload=payload)


class ReportSubmitted(Event):
    event_type: ClassVar[str] = "ReportSubmitted"
    payload: ReportSubmittedPayload


class ReportTriaged(Event):
    event_type: ClassVar[str] = "ReportTriaged"
    payload: ReportTriagedPayload


class IncidentEscalated(Event):
    event_type: ClassVar[str] = "IncidentEscalated"
    payload: IncidentEscalatedPayload


class AlertDelivered(Event):
    event_type: ClassVar[str] = "AlertDelivered"
    payload: AlertDeliveredPayload


class AlertFailed(Event):
    event_type: ClassVar[str] = "AlertFailed"
    payload: AlertFailedPayload


EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls for cls in (ReportSubmitted, ReportTriaged, IncidentEscalated, AlertDelivered, AlertFailed)
}


class UndecodableEvent(ValueError):
    """The bytes are not a valid event of a known type (a poison message)."""


class UnknownEventType(ValueError):
    """Valid JSON naming an event type this reader does not know (from a newer producer)."""


def decode_event(data: bytes) -> Event:
    """Read an event tolerantly; raises UnknownEventType or UndecodableEvent."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise UndecodableEvent("no event type")
    cls = EVENT_TYPES.get(raw["type"])
    if cls is None:
        raise UnknownEventType(raw["type"])
    try:
        return cls.model_validate(raw, context={"tolerant": True})
    except ValueError as exc:
        raise UndecodableEvent(f"invalid {raw['type']}: {exc}") from exc


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
