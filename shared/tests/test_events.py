"""Event contracts: strict to build, tolerant to read, deterministic derived ids."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from desk_shared.events import (
    EVENT_TYPES,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    ReportSubmitted,
    ReportSubmittedPayload,
    UndecodableEvent,
    UnknownEventType,
    decode_event,
    derived_id,
    utc_now,
)
from desk_shared.subjects import EVENT_SUBJECTS


def submitted() -> ReportSubmitted:
    rid = uuid.uuid4()
    return ReportSubmitted(event_id=rid, occurred_at=utc_now(), recorded_at=utc_now(), correlation_id=rid,
                           producer="intake", payload=ReportSubmittedPayload(
                               report_id=rid, agency="kpu", channel="http", kecamatan_code="11.13.01",
                               text="Surat suara kurang di TPS 4."))


def test_round_trip() -> None:
    event = submitted()
    assert decode_event(event.to_json()) == event
    assert json.loads(event.to_json())["type"] == "ReportSubmitted"


def test_readers_ignore_fields_they_do_not_know() -> None:
    raw = json.loads(submitted().to_json())
    raw["added_later"] = 1
    raw["payload"]["photo_digest"] = "sha256:..."
    decoded = decode_event(json.dumps(raw).encode())
    assert decoded.payload.text == "Surat suara kurang di TPS 4."


def test_producers_cannot_emit_unknown_fields_or_change_an_event() -> None:
    event = submitted()
    with pytest.raises(ValidationError):
        ReportSubmittedPayload(**event.payload.model_dump(), typo_field=1)
    with pytest.raises(ValidationError):
        event.producer = "someone else"  # type: ignore[misc]


@pytest.mark.parametrize(("data", "error"), [
    (b"not json", UndecodableEvent),
    (b'{"no": "type"}', UndecodableEvent),
    (b'{"type": "ReportSubmitted", "event_id": "x"}', UndecodableEvent),
    (b'{"type": "SomethingNew"}', UnknownEventType),
])
def test_bad_messages_are_told_apart(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_event(data)


def test_derived_events_have_ids_determined_by_their_cause() -> None:
    cause = submitted()
    payload = IncidentEscalatedPayload(
        incident_id=derived_id(cause.payload.report_id, "incident"), report_id=cause.payload.report_id,
        kecamatan_code="11.13.01", category="violence", severity="kritis", summary="...",
        liaisons=(Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren"),))
    first = IncidentEscalated.caused_by(cause, "triage", payload)
    again = IncidentEscalated.caused_by(cause, "triage", payload)
    assert first.event_id == again.event_id == derived_id(cause.event_id, "IncidentEscalated")
    assert first.causation_id == cause.event_id and first.correlation_id == cause.correlation_id
    assert derived_id(cause.event_id, "ReportTriaged") != first.event_id


def test_every_event_type_has_a_subject() -> None:
    assert set(EVENT_TYPES) == set(EVENT_SUBJECTS)
