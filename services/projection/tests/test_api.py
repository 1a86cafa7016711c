"""The query API over a database filled by applying events (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from desk_projection.api import create_app
from desk_projection.database import make_engine
from desk_projection.projector import Delivered, Projector
from desk_projection.settings import ProjectionSettings
from desk_shared.access.people import Principal
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.events import Event, derived_id
from desk_shared.contracts.people import Role
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.log_reader import ReaderStatus
from desk_testing import samples
from desk_testing.agencies import everywhere
from desk_testing.people import StaticGuard

REPORTS = 24


class FixedStream:
    def __init__(self, last: int | None, status: ReaderStatus | None = None) -> None:
        self.last = last
        self.reader_status = status or ReaderStatus()

    async def stream_last_sequence(self) -> int | None:
        return self.last

    def status(self) -> ReaderStatus:
        return self.reader_status


@pytest.fixture
def log(engine: Engine) -> list[Event]:
    events = samples.sample_log(REPORTS)
    Projector(engine).apply_batch(0, [Delivered(i + 1, e) for i, e in enumerate(events)])
    return events


LEADER = Principal("p-1", "pimpinan", (Role.LEADER,), everywhere())
CAMAT = Principal("p-2", "camat.kutapanjang", (Role.LEADER,), Areas(kecamatan=("11.13.02",)))


@pytest.fixture
def client(engine: Engine, database_url: str, log: list[Event]) -> Iterator[TestClient]:
    reading = make_engine(database_url)
    settings = ProjectionSettings(database_url=database_url, region_regencies="11.13, 11.14")
    app = create_app(reading, settings, FixedStream(len(log) + 5))
    app.state.people_guard = StaticGuard({"leader-token": LEADER, "camat-token": CAMAT})
    with TestClient(app, headers={"Authorization": "Bearer leader-token"}) as test_client:
        yield test_client
    reading.dispose()


@pytest.mark.parametrize("path", ["/v1/incidents", "/v1/situation", f"/v1/incidents/{uuid.uuid4()}"])
@pytest.mark.parametrize("headers", [{"Authorization": ""}, {"Authorization": "Bearer stolen"},
                                     {"Authorization": "Basic bGVhZGVyOng="}])
def test_every_read_needs_a_person(client: TestClient, path: str, headers: dict[str, str]) -> None:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 401 and answer.json()["detail"] and answer.headers["WWW-Authenticate"]
    assert "items" not in answer.text and "kecamatan" not in answer.text
    assert client.get("/health", headers=headers).status_code == 200


def test_a_person_sees_only_their_areas(client: TestClient, log: list[Event]) -> None:
    camat = {"Authorization": "Bearer camat-token"}
    everything = client.get("/v1/incidents", params={"limit": 500}).json()["items"]
    mine = client.get("/v1/incidents", params={"limit": 500}, headers=camat).json()["items"]
    assert mine and {i["kecamatan_code"] for i in mine} == {"11.13.02"}
    assert len(mine) == sum(1 for i in everything if i["kecamatan_code"] == "11.13.02")
    other = next(i for i in everything if i["kecamatan_code"] != "11.13.02")
    assert client.get(f"/v1/incidents/{other['incident_id']}", headers=camat).status_code == 404
    assert client.get(f"/v1/incidents/{mine[0]['incident_id']}", headers=camat).status_code == 200
    places = client.get("/v1/situation", headers=camat).json()["kecamatan"]
    assert [k["code"] for k in places] == ["11.13.02"]


def triaged(log: list[Event]) -> list[Event]:
    return [e for e in log if e.event_type == "ReportTriaged"]


def test_incidents_newest_first_with_names_and_labels(client: TestClient, log: list[Event]) -> None:
    body = client.get("/v1/incidents").json()
    assert (body["total"], body["limit"], body["offset"]) == (REPORTS, 50, 0)
    newest = body["items"][0]
    last_report, last_triage = samples.incident_story(REPORTS - 1)[:2]
    assert newest["incident_id"] == str(last_triage.payload.incident_id)
    assert newest["report_id"] == str(last_report.payload.report_id)
    assert newest["summary"] == last_report.payload.text
    assert newest["category"] == last_triage.payload.category.value
    assert newest["category_label"] == last_triage.payload.category.label
    assert newest["severity"] == last_triage.payload.severity.value
    assert newest["classification"] == "otomatis"
    assert newest["kecamatan_code"] == last_report.payload.kecamatan_code
    assert newest["kecamatan_name"] == "Kutapanjang"  # report 23: 11.13.02
    assert (newest["regency_code"], newest["regency_name"]) == ("11.13", "Kabupaten Gayo Lues")
    assert newest["village_name"] == "Bener"  # 11.13.02.2004
    assert newest["opened_at"] == "2024-11-27T07:00:23Z"  # the decision takes the time of its cause
    opened = [item["opened_at"] for item in body["items"]]
    assert opened == sorted(opened, reverse=True)


def test_paging_and_filters(client: TestClient, log: list[Event]) -> None:
    page = client.get("/v1/incidents", params={"limit": 5, "offset": 20}).json()
    assert (len(page["items"]), page["total"]) == (4, REPORTS)
    severities = Counter(e.payload.severity.value for e in triaged(log))
    for severity in Severity:
        found = client.get("/v1/incidents", params={"severity": severity.value}).json()
        assert found["total"] == severities[severity.value]
        assert {i["severity"] for i in found["items"]} <= {severity.value}
    escalated = client.get("/v1/incidents", params={"status": "escalated"}).json()
    assert escalated["total"] == sum(e.event_type == "IncidentEscalated" for e in log)
    violence = client.get("/v1/incidents", params={"category": "violence", "kecamatan": "11.13.03"}).json()
    assert all(i["category"] == "violence" and i["kecamatan_code"] == "11.13.03" for i in violence["items"])
    assert violence["total"] == sum(1 for e in triaged(log) if e.payload.category is Category.VIOLENCE
                                    and e.payload.kecamatan_code == "11.13.03")
    assert client.get("/v1/incidents", params={"regency": "11.13"}).json()["total"] == REPORTS
    assert client.get("/v1/incidents", params={"regency": "11.14"}).json()["total"] == 0


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"offset": -1}, {"severity": "parah"},
                                    {"category": "kekerasan"}, {"kecamatan": "1113"}, {"status": "ditutup"}])
def test_bad_query_parameters_are_422(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/v1/incidents", params=params).status_code == 422


def test_incident_detail_has_the_timeline(client: TestClient, log: list[Event]) -> None:
    story = samples.incident_story(3)
    incident_id = story[1].payload.incident_id
    response = client.get(f"/v1/incidents/{incident_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "escalated" and body["escalated_at"] == "2024-11-27T07:00:03Z"
    assert body["rule_set_version"] == "rules-2024.11"
    assert body["evidence"] == ["kata kunci: amplop"]
    assert [liaison["id"] for liaison in body["liaisons"]] == ["polsek:11.13.04", "koramil:11.13.04"]
    assert (body["alerts_delivered"], body["alerts_failed"]) == (1, 1)
    assert [t["event_type"] for t in body["timeline"]] == [e.event_type for e in story]
    assert [t["event_id"] for t in body["timeline"]] == [str(e.event_id) for e in story]
    seqs = [t["seq"] for t in body["timeline"]]
    assert seqs == sorted(seqs)
    assert "IncidentEscalated" in response.text


def test_unknown_and_malformed_incident_ids(client: TestClient) -> None:
    unknown = derived_id("nothing", "incident")
    response = client.get(f"/v1/incidents/{unknown}")
    assert response.status_code == 404
    assert response.json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                               "detail": f"incident {unknown} not found"}
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/incidents/bukan-uuid").status_code == 422


def test_situation_per_kecamatan(client: TestClient, log: list[Event]) -> None:
    body = client.get("/v1/situation").json()
    assert body["position"] == len(log)
    assert body["incidents"] == REPORTS
    places = {k["code"]: k for k in body["kecamatan"]}
    assert set(places) >= {f"11.13.{n:02d}" for n in range(1, 12)}  # region_regencies: every kecamatan
    assert len([c for c in places if c.startswith("11.14.")]) > 5  # listed though quiet
    blangkejeren = places["11.13.01"]
    mine = [e for e in triaged(log) if e.payload.kecamatan_code == "11.13.01"]
    assert blangkejeren["name"] == "Blangkejeren" and blangkejeren["regency_name"] == "Kabupaten Gayo Lues"
    assert blangkejeren["incidents"] == len(mine) == blangkejeren["reports"]
    assert blangkejeren["by_category"] == dict(Counter(e.payload.category.value for e in mine))
    assert {k: v for k, v in blangkejeren["by_severity"].items() if v} == dict(
        Counter(e.payload.severity.value for e in mine))
    assert blangkejeren["highest_severity"] == max((e.payload.severity for e in mine), key=lambda s: s.rank).value
    assert blangkejeren["last_report_at"] is not None
    assert blangkejeren["unverified"] == sum(e.payload.automated for e in mine) > 0
    quiet = places["11.14.01"]
    assert (quiet["incidents"], quiet["highest_severity"], quiet["last_report_at"]) == (0, None, None)
    ranks = [Severity(k["highest_severity"]).rank if k["highest_severity"] else -1 for k in body["kecamatan"]]
    assert ranks == sorted(ranks, reverse=True)


def test_health_reports_position_and_lag(client: TestClient, log: list[Event]) -> None:
    body = client.get("/health").json()
    assert body == {"status": "ok", "position": len(log), "stream_last_sequence": len(log) + 5, "lag": 5,
                    "detail": None, "skipped": 0, "last_skipped": None, "retrying": None}


@pytest.mark.parametrize("params", [{"offset": 2**63}, {"offset": 2**64 + 1}, {"offset": 10**40},
                                    {"offset": 2**31}, {"limit": 2**63}, {"limit": -(2**63) - 1},
                                    {"offset": "1e9"}, {"limit": "9" * 5000}])
def test_out_of_range_paging_is_422_not_500(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/v1/incidents", params=params).status_code == 422


@pytest.mark.parametrize("offset", [REPORTS, 2**31 - 1])
def test_paging_past_the_end_is_an_empty_page(client: TestClient, offset: int) -> None:
    page = client.get("/v1/incidents", params={"offset": offset}).json()
    assert (page["items"], page["total"], page["offset"]) == ([], REPORTS, offset)


def test_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/incidents", "/v1/incidents/{incident_id}", "/v1/situation", "/health"} <= set(paths)


def test_decisions_a_desk_officer_must_review_are_flagged_and_filterable(client: TestClient, log: list[Event]) -> None:
    flagged = {str(e.payload.incident_id) for e in triaged(log) if e.payload.needs_review}
    assert flagged and len(flagged) < REPORTS
    body = client.get("/v1/incidents", params={"needs_review": "true", "limit": 500}).json()
    assert {i["incident_id"] for i in body["items"]} == flagged and body["total"] == len(flagged)
    assert all(i["needs_review"] for i in body["items"])
    others = client.get("/v1/incidents", params={"needs_review": "false", "limit": 500}).json()
    assert others["total"] == REPORTS - len(flagged) and not any(i["needs_review"] for i in others["items"])
    one = triaged(log)[0].payload
    detail = client.get(f"/v1/incidents/{one.incident_id}").json()
    assert detail["review_reasons"] == list(one.review_reasons)
    assert detail["model_version"] == one.model_version
