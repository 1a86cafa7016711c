"""Reports over time (the tiles' 24-hour trends, the charts) and the desk's response times, from
read models filled by applying events timed relative to now (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from desk_projection.api import create_app
from desk_projection.board.live import read_snapshot
from desk_projection.database import make_engine
from desk_projection.projector import Delivered, Projector
from desk_projection.settings import DESK_TIME_ZONE, ProjectionSettings
from desk_projection.trends import hour_start
from desk_shared.access.people import Principal
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.events import Event, ReportSubmitted
from desk_shared.contracts.people import Role
from desk_testing import samples
from desk_testing.agencies import everywhere
from desk_testing.people import StaticGuard

NOW = datetime.now(UTC)
AGES_MINUTES = (5, 20, 61, 62, 150, 600, 1300, 1500, 3000)
"""How long ago each report arrived: the last two are beyond 24 hours (out of the trend)."""


def at(event: Event, when: datetime) -> Event:
    return event.model_copy(update={"occurred_at": when, "recorded_at": when})


def stories() -> list[Event]:
    events: list[Event] = []
    for n, minutes in enumerate(AGES_MINUTES):
        when = NOW - timedelta(minutes=minutes)
        submitted = at(samples.report_submitted(n, kecamatan="11.13.01" if n % 2 else "11.13.02"), when)
        assert isinstance(submitted, ReportSubmitted)
        events += [submitted, at(samples.report_triaged(submitted, n), when)]
        if n < 3:  # escalated 4 minutes after opening (the escalation's own time)
            triaged = events[-1]
            events.append(at(samples.incident_escalated(triaged, submitted), when + timedelta(minutes=4)))  # type: ignore[arg-type]
    return events


@pytest.fixture
def client(engine: Engine, database_url: str) -> Iterator[TestClient]:
    events = stories()
    Projector(engine).apply_batch(0, [Delivered(i + 1, e) for i, e in enumerate(events)])
    reading = make_engine(database_url)
    app = create_app(reading, ProjectionSettings(database_url=database_url, region_regencies="11.13"))
    camat = Principal("p-2", "camat", (Role.LEADER,), Areas(kecamatan=("11.13.01",)))
    app.state.people_guard = StaticGuard({"leader": Principal("p-1", "pimpinan", (Role.LEADER,), everywhere()),
                                          "camat": camat})
    with TestClient(app, headers={"Authorization": "Bearer leader"}) as test_client:
        yield test_client
    reading.dispose()


def expected_trend(kecamatan_odd: bool) -> list[int]:
    start = hour_start(NOW, 24)
    trend = [0] * 24
    for n, minutes in enumerate(AGES_MINUTES):
        index = int((NOW - timedelta(minutes=minutes) - start).total_seconds() // 3600)
        if bool(n % 2) == kecamatan_odd and 0 <= index < 24:
            trend[index] += 1
    return trend


def test_each_tile_has_its_24_hour_trend(client: TestClient) -> None:
    places = {k["code"]: k for k in client.get("/v1/situation").json()["kecamatan"]}
    assert places["11.13.01"]["trend"] == expected_trend(True)
    assert places["11.13.02"]["trend"] == expected_trend(False)
    assert sum(places["11.13.01"]["trend"]) + sum(places["11.13.02"]["trend"]) == 7  # two are older than a day
    assert places["11.13.05"]["trend"] == [0] * 24


def test_reports_per_hour_and_per_day_by_category(client: TestClient) -> None:
    hourly = client.get("/v1/stats", params={"days": 1}).json()
    assert len(hourly["starts"]) == 24 and all(len(v) == 24 for v in hourly["reports"].values())
    recent = [n for n, m in enumerate(AGES_MINUTES) if NOW - timedelta(minutes=m) >= hour_start(NOW, 24)]
    assert Counter({c: sum(v) for c, v in hourly["reports"].items()}) == Counter(
        samples.TEXTS[n % len(samples.TEXTS)][0].value for n in recent)
    assert set(hourly["category_labels"]) == set(hourly["reports"])
    daily = client.get("/v1/stats", params={"days": 3, "bucket": "day"}).json()
    local_days = [datetime.fromisoformat(s).astimezone(DESK_TIME_ZONE).date() for s in daily["starts"]]
    assert local_days[-1] == NOW.astimezone(DESK_TIME_ZONE).date()
    per_day = Counter((NOW - timedelta(minutes=m)).astimezone(DESK_TIME_ZONE).date() for m in AGES_MINUTES
                      if NOW - timedelta(minutes=m) >= hour_start(NOW, 72))
    totals = [sum(v[i] for v in daily["reports"].values()) for i in range(len(local_days))]
    assert dict(zip(local_days, totals, strict=True)) == {d: per_day.get(d, 0) for d in local_days}


def test_response_times_and_areas(client: TestClient) -> None:
    times = client.get("/v1/stats").json()["response_times"]
    assert times["escalate"] == {"n": 3, "median_minutes": 4.0, "p90_minutes": 4.0}
    assert times["close"]["n"] == 0 and times["close"]["median_minutes"] is None
    camat = client.get("/v1/stats", headers={"Authorization": "Bearer camat"}).json()
    assert sum(sum(v) for v in camat["reports"].values()) == sum(expected_trend(True))
    assert camat["response_times"]["escalate"]["n"] == 1  # only n=1 of the escalated is in 11.13.01


@pytest.mark.parametrize("params", [{"days": 0}, {"days": 91}, {"bucket": "minute"}, {"days": 8, "bucket": "hour"}])
def test_bad_chart_requests_are_422(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/v1/stats", params=params).status_code == 422


def test_a_snapshot_counting_only_new_reports_equals_one_read_whole(engine: Engine) -> None:
    events = stories()
    projector = Projector(engine)
    projector.apply_batch(0, [Delivered(i + 1, e) for i, e in enumerate(events)])
    first = read_snapshot(engine)
    arriving = [at(samples.report_submitted(100 + n, kecamatan=("11.13.02", "11.13.09")[n % 2]), datetime.now(UTC))
                for n in range(3)]  # as reports arrive: now
    projector.apply_batch(len(events), [Delivered(len(events) + i + 1, e) for i, e in enumerate(arriving)])
    counted = read_snapshot(engine, first)  # only the reports above the first's tally
    whole = read_snapshot(engine)
    assert counted.read_at == first.read_at and whole.read_at > first.read_at
    assert counted.position == whole.position > first.position
    assert sorted(counted.report_counts, key=str) == sorted(whole.report_counts, key=str)
    assert counted.trend_now == whole.trend_now
    assert sum(k.n for k in whole.report_counts) == len(AGES_MINUTES) + 3
    assert whole.trend_now["11.13.09"][-1] == 1
