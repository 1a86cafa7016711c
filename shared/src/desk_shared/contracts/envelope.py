"""The envelope every fact in the log carries, and the registry of event types.

Events are immutable and past tense. Producers emit strictly (unknown fields are an error
when an event is built); consumers read tolerantly through `decode_event`, which ignores
fields they do not know, so a newer producer never breaks an older consumer.
A change to an event is additive; a rename or a change of meaning is a new event type.

A new event type is one class: subclassing `Event` registers it under its class name, with
its subject derived from that name (`ReportSubmitted` -> `desk.event.report.submitted`), its
`SCHEMA_VERSION` and the `UPCASTERS` that bring older stored versions up to date.

An event about one thing in one kecamatan (an incident, an area's alert level) is stored under
its type's subject followed by the kecamatan code's three parts and the thing's key
(`desk.event.incident.opened.11.13.01.<incident id>`): one wildcard filter then reads everything
about one kecamatan, or one incident, and a writer can append on condition that nothing else was
appended there since it last read (JetStream's expected last subject sequence).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from desk_shared.contracts import subjects

EVENT_NAMESPACE = uuid.UUID("5f0e1c0a-6b5e-4d0e-9a51-6465736b2d70")
"""uuid5 namespace of every id the system derives (report ids from idempotency keys, ...)."""

KecamatanCode = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$", examples=["11.13.01"])]
VillageCode = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$", examples=["11.13.01.2001"])]

RawEvent = dict[str, Any]
Upcaster = Callable[[RawEvent], RawEvent]


def utc_now() -> datetime:
    return datetime.now(UTC)


def derived_id(cause: uuid.UUID | str, what: str) -> uuid.UUID:
    """The id of something derived from `cause`: the same cause and purpose give the same id,
    so a redelivered input republishes the same `Nats-Msg-Id` and JetStream drops it."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{cause}:{what}")


class Contract(BaseModel):
    """Base of every contract: frozen, strict on construction (unknown fields are an error),
    tolerant when decoding (`decode_event` validates with `extra="ignore"`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Contract):
    """Who caused an event: an agency (its producer submitted it), a person (a desk officer,
    a liaison) or a service deciding on its own."""

    kind: Literal["agency", "person", "service"]
    id: str = Field(min_length=1, max_length=100, examples=["bawaslu", "triage"])

    @classmethod
    def service(cls, name: str) -> Actor:
        return cls(kind="service", id=name)

    @classmethod
    def agency(cls, code: str) -> Actor:
        return cls(kind="agency", id=code)


def _actor_from_producer(raw: RawEvent) -> RawEvent:
    """Version 1 had no actor: the producing service acted on its own."""
    return {**raw, "actor": {"kind": "service", "id": raw.get("producer") or "unknown"}}


class Event(Contract):
    """The envelope. `occurred_at` is when the fact happened (a report accepted, a decision
    taken; for a derived event, the time of its cause, so a replay derives the same event);
    `recorded_at` is when it was handed to the log."""

    event_type: ClassVar[str]
    subject: ClassVar[str]
    """The type's subject (stored events of a keyed type are under it, one level down)."""
    subject_filter: ClassVar[str]
    """What matches every stored event of the type: to read it, and to be allowed to write it."""
    KEYED: ClassVar[bool] = False
    BASE: ClassVar[bool] = False
    """True on an intermediate base class (declared with a payload) that is not itself an event type."""
    SCHEMA_VERSION: ClassVar[int] = 2
    UPCASTERS: ClassVar[Mapping[int, Upcaster]] = {1: _actor_from_producer}
    """From version n to n+1, on the raw JSON object of a stored event."""

    schema_version: int
    event_id: uuid.UUID
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    producer: str
    actor: Actor

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "payload" in cls.model_fields and not cls.__dict__.get("BASE", False):  # a concrete event type
            cls.event_type = cls.__name__
            cls.subject = subjects.event_subject(subject_name(cls.__name__))
            cls.subject_filter = f"{cls.subject}.>" if cls.KEYED else cls.subject
            _register(cls)

    @model_validator(mode="before")
    @classmethod
    def _check_type(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            seen = data.pop("type", cls.event_type)
            if seen != cls.event_type:
                raise ValueError(f"event type {seen!r} is not {cls.event_type!r}")
            version = data.setdefault("schema_version", cls.SCHEMA_VERSION)
            tolerant = info.context and info.context.get("tolerant")
            if version != cls.SCHEMA_VERSION and not tolerant:
                raise ValueError(f"{cls.event_type} is emitted as version {cls.SCHEMA_VERSION}, not {version}")
        return data

    @property
    def address(self) -> str:
        """The subject this event is stored under."""
        return self.subject

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON with the type first: `{"type":"ReportSubmitted","schema_version":2,...}`."""
        return b'{"type":"%s",%s' % (self.event_type.encode(), self.model_dump_json().encode()[1:])

    @classmethod
    def decided(cls, actor: Actor, producer: str, payload: Any, *, command: tuple[uuid.UUID, str] | None = None,
                at: datetime | None = None) -> Self:
        """A new fact decided by `actor` (not derived from another event): a fresh id and the time
        now, or, for one of the events of a `command` (its id, and what this event is of it), an id
        derived from the command's, so a command retried (after a conflict, a lost reply) appends
        each of its events once."""
        now = at or utc_now()
        event_id = derived_id(command[0], command[1]) if command else uuid.uuid4()
        correlation = command[0] if command else event_id
        return cls(event_id=event_id, occurred_at=now, recorded_at=utc_now(), correlation_id=correlation,
                   producer=producer, actor=actor, payload=payload)

    @classmethod
    def caused_by(cls, cause: Event, producer: str, payload: Any, *, what: str | None = None,
                  actor: Actor | None = None, recorded_at: datetime | None = None) -> Self:
        """A derived event: its id is a function of the cause (and `what`, when one cause has
        several events of this type), its time the cause's, so redelivery or replay gives the
        same event. The actor is the producing service unless someone else caused it."""
        return cls(event_id=derived_id(cause.event_id, what or cls.event_type), occurred_at=cause.occurred_at,
                   recorded_at=recorded_at or utc_now(), correlation_id=cause.correlation_id,
                   causation_id=cause.event_id, producer=producer, actor=actor or Actor.service(producer),
                   payload=payload)


def subject_name(event_type: str) -> str:
    """`ReportSubmitted` -> `report.submitted`, `AlertDeliveryFailed` -> `alert.delivery_failed`:
    the first word names what the event is about, the rest what happened to it."""
    words = re.findall(r"[A-Z][a-z0-9]*", event_type)
    if len(words) < 2 or "".join(words) != event_type:
        raise TypeError(f"event type {event_type!r} must be CamelCase: a noun, then what happened")
    return f"{words[0].lower()}.{'_'.join(w.lower() for w in words[1:])}"


# ----------------------------------------------------------------------------- registry
_EVENT_TYPES: dict[str, type[Event]] = {}


def _register(cls: type[Event]) -> None:
    known = _EVENT_TYPES.get(cls.event_type)
    if known is not None and known is not cls:
        raise TypeError(f"two event classes named {cls.event_type}: {known.__module__} and {cls.__module__}")
    missing = [v for v in range(1, cls.SCHEMA_VERSION) if v not in cls.UPCASTERS]
    if missing:
        raise TypeError(f"{cls.event_type} version {cls.SCHEMA_VERSION} has no upcaster from version(s) {missing}")
    _EVENT_TYPES[cls.event_type] = cls


def event_types() -> Mapping[str, type[Event]]:
    """Every registered event type by name (read-only view)."""
    return dict(_EVENT_TYPES)


class UndecodableEvent(ValueError):
    """The bytes are not a valid event of a known type (a poison message)."""


class UnknownEventType(ValueError):
    """Valid JSON naming an event type this reader does not know (from a newer producer)."""


def event_class(name: str) -> type[Event]:
    cls = _EVENT_TYPES.get(name)
    if cls is None:
        raise UnknownEventType(name)
    return cls


def upcast(cls: type[Event], raw: RawEvent) -> RawEvent:
    """Bring a stored event of an older schema version to the class's version."""
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UndecodableEvent(f"invalid schema_version {version!r}")
    while version < cls.SCHEMA_VERSION:
        raw = cls.UPCASTERS[version](raw)
        version += 1
        raw["schema_version"] = version
    return raw


_CURRENT_TYPE = re.compile(rb'\{"type":"([A-Za-z0-9]+)",')


def decode_event(data: bytes) -> Event:
    """Read an event tolerantly, upcast to the current version; raises UnknownEventType or UndecodableEvent.

    Fast path: an event as `to_json` writes it, of the current version, validated straight from
    its bytes. Anything else (older versions, other layouts, errors) takes the general path."""
    current = _CURRENT_TYPE.match(data)
    if (current is not None and b'"schema_version":' in data  # missing, it means version 1
            and (fast := _EVENT_TYPES.get(current.group(1).decode())) is not None):
        try:
            return fast.model_validate_json(data, extra="ignore")
        except ValueError:
            pass  # an older version, or invalid: the general path says which
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise UndecodableEvent("no event type")
    cls = event_class(raw["type"])
    try:
        return cls.model_validate(upcast(cls, raw), extra="ignore", context={"tolerant": True})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # an upcaster meeting a malformed old event
        raise UndecodableEvent(f"invalid {raw['type']}: {exc}") from exc
