"""What /health concludes from the position, the log and the reader (pure)."""

from __future__ import annotations

from desk_projection.health import SkippedSummary, assess
from desk_shared.runtime.log_reader import ReaderStatus, Retrying

NOTHING = SkippedSummary()


def test_ok_with_the_lag() -> None:
    health = assess(90, 100, ReaderStatus(), NOTHING)
    assert (health.status, health.lag, health.detail) == ("ok", 10, None)


def test_a_log_shorter_than_the_position_is_an_error_and_the_lag_is_not_clamped() -> None:
    health = assess(500, 12, ReaderStatus(), NOTHING)
    assert (health.status, health.lag) == ("error", None)
    assert "ends at sequence 12, before this projection's position 500" in (health.detail or "")
    assert "rebuild" in (health.detail or "")


def test_a_halted_reader_is_an_error_whatever_the_lag() -> None:
    health = assess(500, 900, ReaderStatus(halted="the log DESK_EVENTS holds another message at ... rebuild"), NOTHING)
    assert (health.status, health.lag) == ("error", None)
    assert health.detail is not None and "another message" in health.detail


def test_retrying_is_degraded_and_says_what() -> None:
    one = assess(40, 50, ReaderStatus(retrying=Retrying(41, 2, 5, "ReportSubmitted not applicable: Overflow")), NOTHING)
    assert (one.status, one.lag) == ("degraded", 10)
    assert one.retrying is not None
    assert (one.retrying.seq, one.retrying.attempts, one.retrying.max_attempts) == (41, 2, 5)
    assert "retrying the event at sequence 41 (attempt 2 of 5 failed)" in (one.detail or "")
    database = assess(40, 50, ReaderStatus(retrying=Retrying(None, 7, None, "OperationalError: gone")), NOTHING)
    assert database.status == "degraded" and "retrying writing to the database (attempt 7 failed)" in (
        database.detail or "")


def test_skipped_events_keep_it_degraded() -> None:
    health = assess(50, 50, ReaderStatus(), SkippedSummary(2, 41, "ReportSubmitted", "not applied after 5 attempts"))
    assert (health.status, health.lag, health.skipped) == ("degraded", 0, 2)
    assert health.last_skipped is not None and (health.last_skipped.seq, health.last_skipped.event_type) == (
        41, "ReportSubmitted")
    assert "2 event(s) skipped" in (health.detail or "")


def test_unknown_log_is_degraded_with_no_lag() -> None:
    health = assess(50, None, ReaderStatus(), NOTHING)
    assert (health.status, health.lag) == ("degraded", None)
