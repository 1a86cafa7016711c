"""What intake accepts, and the event an accepted report becomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from desk_intake.submission import Rejected, SubmitReport, accept, field_problems
from desk_shared.contracts.events import decode_event, utc_now

GOOD = {"kecamatan": "11.13.01", "text": "Kotak suara di TPS 02 rusak."}


def fields_of(error: ValidationError) -> set[str]:
    return {p.field for p in field_problems(error.errors())}


def test_a_good_report_becomes_report_submitted() -> None:
    event = accept(SubmitReport(**GOOD, village="11.13.01.2001"), channel="http", agency=None, header_key=None,
                   scope=frozenset())
    assert event.payload.kecamatan_code == "11.13.01"
    assert event.payload.village_code == "11.13.01.2001"
    assert event.payload.agency == "anonymous"
    assert event.event_id == event.payload.report_id == event.correlation_id
    assert decode_event(event.to_json()) == event


def test_every_field_error_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        SubmitReport.model_validate({"kecamatan": "99.99.99", "text": "  ", "village": "x", "colour": "red"})
    assert fields_of(caught.value) == {"kecamatan", "text", "village", "colour"}
    messages = [p.message for p in field_problems(caught.value.errors())]
    assert "unknown kecamatan code '99.99.99'" in messages


@pytest.mark.parametrize("bad", [
    {"kecamatan": "11.13.1"},
    {"text": ""},
    {"text": "x" * 10_001},
    {"occurred_at": (utc_now() + timedelta(hours=1)).isoformat()},
    {"occurred_at": "2024-02-14T10:00:00"},  # no time zone
    {"occurred_at": "1999-12-31T23:59:59+00:00"},  # before 2000-01-01
    {"occurred_at": "2000-01-01T06:59:59+07:00"},  # 1999 in UTC
    {"occurred_at": "0001-01-01T00:00:00+14:00"},  # not expressible in UTC
    {"occurred_at": "1700000000"},  # seconds since 1970: not the schema's date-time
    {"occurred_at": 1700000000},
    {"occurred_at": "2025-01-01T00:00+07:00"},  # no seconds
    {"occurred_at": "2025-01-01 00:00:00Z"},
    {"occurred_at": "2025-01-01T00:00:00+0700"},
    {"occurred_at": "２０２５-01-01T00:00:00Z"},  # not ASCII digits
    {"occurred_at": "9999-12-31T23:59:59-14:00"},  # not expressible in UTC either
    {"category_hint": "gossip"},
    {"agency": "KPU!"},
    {"village": "11.13.01.9999"},
])
def test_invalid_fields_are_rejected(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        SubmitReport.model_validate(GOOD | bad)
    assert fields_of(caught.value) == set(bad)


@pytest.mark.parametrize("at", ["2025-01-01T00:00:00Z", "2025-01-01t00:00:00.123456z", "2025-01-01T07:00:00+07:00"])
def test_rfc3339_date_times_are_taken(at: str) -> None:
    assert SubmitReport.model_validate(GOOD | {"occurred_at": at}).occurred_at is not None


def test_village_must_lie_in_the_kecamatan() -> None:
    with pytest.raises(Rejected) as caught:
        accept(SubmitReport(**GOOD, village="11.14.01.2001"), channel="http", agency=None, header_key=None,
               scope=frozenset())
    assert [p.field for p in caught.value.problems] == ["village"]


def test_reports_outside_the_desks_regencies_are_rejected() -> None:
    with pytest.raises(Rejected, match="outside this desk's regencies"):
        accept(SubmitReport(**GOOD), channel="http", agency=None, header_key=None, scope=frozenset({"17.04"}))
    assert accept(SubmitReport(**GOOD), channel="http", agency=None, header_key=None, scope=frozenset({"11.13"}))


def test_the_same_idempotency_key_gives_the_same_report_id_per_agency() -> None:
    report = SubmitReport(**GOOD)
    first = accept(report, channel="http", agency=None, header_key="k-1", scope=frozenset())
    again = accept(SubmitReport(**GOOD, idempotency_key="k-1"), channel="http", agency=None, header_key=None,
                   scope=frozenset())
    other_agency = accept(report, channel="nats", agency="kpu", header_key="k-1", scope=frozenset())
    no_key = accept(report, channel="http", agency=None, header_key=None, scope=frozenset())
    assert first.event_id == again.event_id
    assert other_agency.event_id != first.event_id
    assert no_key.event_id != first.event_id


def test_conflicting_keys_and_agencies_are_rejected() -> None:
    with pytest.raises(Rejected) as caught:
        accept(SubmitReport(**GOOD, idempotency_key="a", agency="bawaslu"), channel="nats", agency="kpu",
               header_key="b", scope=frozenset())
    assert {p.field for p in caught.value.problems} == {"idempotency_key", "agency"}


def test_plausible_occurrence_times_are_kept() -> None:
    for at in ("2000-01-01T00:00:00+00:00", "2024-02-14T10:00:00+07:00", utc_now().isoformat()):
        assert SubmitReport.model_validate(GOOD | {"occurred_at": at}).occurred_at is not None


@pytest.mark.parametrize(("at", "message"), [
    ("1999-12-31T23:59:59+00:00", "occurred_at is before 2000-01-01"),
    ("0001-01-01T00:00:00+14:00", "occurred_at cannot be expressed in UTC"),
    ((utc_now() + timedelta(days=1)).isoformat(), "occurred_at is in the future"),
])
def test_impossible_occurrence_times_say_why(at: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SubmitReport.model_validate(GOOD | {"occurred_at": at})
    assert [p.message for p in field_problems(caught.value.errors())] == [message]
