"""Event contracts: strict to build, tolerant to read, registered once, upcast, derived deterministically."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError

from desk_shared.contracts import subjects
from desk_shared.contracts.envelope import subject_name
from desk_shared.contracts.events import (
    Actor,
    AlertRequested,
    Event,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    UndecodableEvent,
    UnknownEventType,
    decode_event,
    derived_id,
    event_types,
    utc_now,
)


def submitted() -> ReportSubmitted:
    rid = uuid.uuid4()
    return ReportSubmitted(event_id=rid, occurred_at=utc_now(), recorded_at=utc_now(), correlation_id=rid,
                           producer="intake", actor=Actor.agency("kpu"), payload=ReportSubmittedPayload(
                               report_id=rid, agency="kpu", channel="http", kecamatan_code="11.13.01",
                               text="Surat suara kurang di TPS 4."))


def escalated(cause: Event) -> IncidentEscalated:
    return IncidentEscalated.caused_by(cause, "triage", IncidentEscalatedPayload(
        incident_id=derived_id(cause.correlation_id, "incident"), report_id=cause.correlation_id,
        kecamatan_code="11.13.01", category="violence", severity="kritis", summary="...",
        liaisons=(Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren"),)))


def test_round_trip() -> None:
    event = submitted()
    assert decode_event(event.to_json()) == event
    raw = json.loads(event.to_json())
    assert (raw["type"], raw["schema_version"], raw["actor"]) == ("ReportSubmitted", 2, {"kind": "agency",
                                                                                         "id": "kpu"})


def test_readers_ignore_fields_they_do_not_know() -> None:
    raw = json.loads(submitted().to_json())
    raw["added_later"] = 1
    raw["payload"]["photo_digest"] = "sha256:..."
    decoded = decode_event(json.dumps(raw).encode())
    assert decoded.payload.text == "Surat suara kurang di TPS 4."


def test_producers_cannot_emit_unknown_fields_an_old_version_or_change_an_event() -> None:
    event = submitted()
    with pytest.raises(ValidationError):
        ReportSubmittedPayload(**event.payload.model_dump(), typo_field=1)
    with pytest.raises(ValidationError):
        ReportSubmitted(**event.model_dump() | {"schema_version": 1})
    with pytest.raises(ValidationError):
        event.producer = "someone else"  # type: ignore[misc]


def test_version_1_events_in_the_log_are_upcast_with_their_actor() -> None:
    """Version 1 (before actors) is what the log of the first releases holds."""
    report = json.loads(submitted().to_json())
    del report["actor"]
    report["schema_version"] = 1
    old_report = decode_event(json.dumps(report).encode())
    assert old_report.actor == Actor.agency("kpu") and old_report.schema_version == 2
    decision = json.loads(escalated(old_report).to_json())
    del decision["actor"], decision["schema_version"]  # version 1 is also what a missing version means
    old_decision = decode_event(json.dumps(decision).encode())
    assert old_decision.actor == Actor.service("triage")


@pytest.mark.parametrize(("data", "error"), [
    (b"not json", UndecodableEvent),
    (b'{"no": "type"}', UndecodableEvent),
    (b'{"type": "ReportSubmitted", "event_id": "x"}', UndecodableEvent),
    (b'{"type": "ReportSubmitted", "schema_version": "two"}', UndecodableEvent),
    (b'{"type": "SomethingNew"}', UnknownEventType),
])
def test_bad_messages_are_told_apart(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_event(data)


def test_derived_events_have_ids_and_times_determined_by_their_cause() -> None:
    cause = submitted()
    first = escalated(cause)
    again = escalated(cause)
    assert first.event_id == again.event_id == derived_id(cause.event_id, "IncidentEscalated")
    assert first.occurred_at == again.occurred_at == cause.occurred_at
    assert first.payload == again.payload
    assert first.causation_id == cause.event_id and first.correlation_id == cause.correlation_id
    assert first.actor == Actor.service("triage")
    assert derived_id(cause.event_id, "ReportTriaged") != first.event_id
    later = IncidentEscalated.caused_by(cause, "triage", first.payload, recorded_at=utc_now() + timedelta(hours=1))
    assert later.event_id == first.event_id and later.recorded_at != first.recorded_at


def test_every_event_type_is_registered_with_a_subject_derived_from_its_name() -> None:
    types = event_types()
    assert {"ReportSubmitted", "ReportTriaged", "IncidentEscalated", "AlertRequested", "AlertDelivered",
            "AlertFailed"} <= set(types)
    assert ReportSubmitted.subject == "desk.event.report.submitted"
    assert AlertRequested.subject == "desk.event.alert.requested"
    assert ReportTriaged.subject == subjects.event_subject("report.triaged")
    assert len({cls.subject for cls in types.values()}) == len(types)
    assert subject_name("AlertDeliveryFailed") == "alert.delivery_failed"
    with pytest.raises(TypeError):
        subject_name("Submitted")


def test_a_new_event_type_is_one_class() -> None:
    class BallotBoxSealed(Event):
        payload: ReportSubmittedPayload

    try:
        assert event_types()["BallotBoxSealed"] is BallotBoxSealed
        assert BallotBoxSealed.subject == "desk.event.ballot.box_sealed"
        event = BallotBoxSealed.caused_by(submitted(), "test", submitted().payload)
        assert decode_event(event.to_json()) == event
    finally:
        from desk_shared.contracts import envelope
        envelope._EVENT_TYPES.pop("BallotBoxSealed")


def test_the_contracts_and_access_rules_import_without_nats_or_a_database() -> None:
    code = ("import sys\n"
            "for name in ('nats', 'faststream', 'sqlalchemy', 'fastapi'):\n"
            "    sys.modules[name] = None\n"
            "from desk_shared.contracts import events, regions, subjects, taxonomy\n"
            "from desk_shared.access import keys, registry\n"
            "assert events.decode_event(events.ReportSubmitted.subject.encode() and b'{}' or b'') if False else True\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_layout_of_an_event_decodes_to_the_same_event() -> None:
    """`to_json`'s own layout takes a fast path; other layouts, newer and older versions the
    general one: the result must not depend on which."""
    from desk_testing import samples

    events = samples.sample_log(12, alert_requests=True)
    for event in events:
        assert decode_event(event.to_json()) == event
    raw = json.loads(events[0].to_json())
    newer = json.dumps({**raw, "payload": {**raw["payload"], "added_later": 1}, "added_later": 2}).encode()
    reordered = json.dumps(dict(reversed(raw.items()))).encode()
    assert decode_event(newer) == decode_event(reordered) == events[0]
    triaged = json.loads(events[1].to_json()) | {"actor": {"kind": "person", "id": "petugas-1"}}
    unversioned = json.dumps({k: v for k, v in triaged.items() if k != "schema_version"}).encode()
    assert decode_event(unversioned).actor == Actor.service("triage")  # version 1: the actor is the producer
