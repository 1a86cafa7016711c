"""Search, filters, the streamed CSV export and redaction, over read models filled by applying
events (SQLite's FTS5 and PostgreSQL's full-text search)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from desk_projection import export
from desk_projection.api import create_app
from desk_projection.database import make_engine
from desk_projection.projector import Delivered, Projector
from desk_projection.redaction import redact_personal
from desk_projection.settings import ProjectionSettings
from desk_shared.access.people import Principal
from desk_shared.contracts.events import Event
from desk_shared.contracts.people import Role
from desk_testing import samples
from desk_testing.agencies import everywhere
from desk_testing.people import StaticGuard

STORIES = 600
"""More incidents than one chunk of the export (so it is written in several)."""
PHONE = "0812-3456-7890"
NIK = "1113012345678901"
WITNESS = f"Saksi bernama Rahmat (HP {PHONE}, NIK {NIK}) melihat intimidasi terhadap pemilih di TPS 09."


def story(n: int, text: str | None = None) -> list[Event]:
    submitted = samples.report_submitted(n, text=text)
    return [submitted, samples.report_triaged(submitted, n)]


@pytest.fixture
def log(engine: Engine) -> list[Event]:
    events = [e for n in range(STORIES) for e in story(n)] + story(STORIES, WITNESS)
    Projector(engine).apply_batch(0, [Delivered(i + 1, e) for i, e in enumerate(events)])
    return events


@pytest.fixture
def client(engine: Engine, database_url: str, log: list[Event]) -> Iterator[TestClient]:
    reading = make_engine(database_url)
    app = create_app(reading, ProjectionSettings(database_url=database_url, region_regencies="11.13"))
    officer = Principal("p-1", "petugas", (Role.DESK_OFFICER,), everywhere())
    leader = Principal("p-2", "pimpinan", (Role.LEADER,), everywhere())
    app.state.people_guard = StaticGuard({"officer": officer, "leader": leader})
    with TestClient(app, headers={"Authorization": "Bearer officer"}) as test_client:
        yield test_client
    reading.dispose()


def as_leader() -> dict[str, str]:
    return {"Authorization": "Bearer leader"}


def texts(log: list[Event]) -> dict[str, str]:
    return {str(e.payload.report_id): e.payload.text for e in log if e.event_type == "ReportSubmitted"}


def test_full_text_search_finds_every_word_and_word_beginnings(client: TestClient, log: list[Event]) -> None:
    by_report = texts(log)
    expected = {r for r, t in by_report.items() if "amplop" in t.lower() and "pemilih" in t.lower()}
    found = client.get("/v1/incidents", params={"q": "Amplop PEMILIH", "limit": 500}).json()
    assert found["total"] == len(expected) > 0
    assert {i["report_id"] for i in found["items"]} == expected
    prefix = client.get("/v1/incidents", params={"q": "intimid"}).json()
    assert [i["report_id"] for i in prefix["items"]] == [r for r, t in by_report.items() if "intimidasi" in t]
    assert client.get("/v1/incidents", params={"q": "amplop hoaks"}).json()["total"] == 0  # no text holds both


@pytest.mark.parametrize("query", ['"', "amplop OR", "NEAR(", "*", "'); DROP TABLE reports; --", "a:*&|!", "  "])
def test_search_syntax_typed_into_the_box_never_fails(client: TestClient, query: str) -> None:
    answer = client.get("/v1/incidents", params={"q": query})
    assert answer.status_code == 200, answer.text
    assert client.get("/v1/incidents").json()["total"] == STORIES + 1  # nothing dropped


def test_filters_by_village_agency_and_time(client: TestClient, log: list[Event]) -> None:
    submitted = [e for e in log if e.event_type == "ReportSubmitted"]
    village = submitted[7].payload.village_code
    in_village = client.get("/v1/incidents", params={"village": village, "limit": 500}).json()
    assert in_village["total"] == sum(e.payload.village_code == village for e in submitted)
    assert {i["village_code"] for i in in_village["items"]} == {village}
    start = submitted[100].occurred_at
    window = {"from": start.isoformat(), "until": (start + timedelta(seconds=50)).isoformat()}
    assert client.get("/v1/incidents", params=window).json()["total"] == 50
    assert client.get("/v1/incidents", params={"agency": "bawaslu"}).json()["total"] == 0  # nothing assigned


@pytest.mark.parametrize("params", [{"from": "2024-02-30T10:00:00+07:00"}, {"until": "2024-11-27T10:00:00"},
                                    {"village": "11.13.01"}, {"agency": "Bawaslu!"}, {"q": "x" * 201}])
def test_impossible_dates_and_bad_filters_are_422(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get("/v1/incidents.csv", params=params)
    assert answer.status_code == 422 and answer.json()["detail"]


def test_the_export_streams_every_match_as_csv(client: TestClient, log: list[Event]) -> None:
    with client.stream("GET", "/v1/incidents.csv", params={"kecamatan": "11.13.02"}) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        chunks = list(answer.iter_bytes())
    body = b"".join(chunks).decode("utf-8")
    assert body.startswith(export.BOM)
    rows = list(csv.DictReader(io.StringIO(body.removeprefix(export.BOM))))
    expected = [e for e in log if e.event_type == "ReportSubmitted" and e.payload.kecamatan_code == "11.13.02"]
    assert len(rows) == len(expected)
    assert [r["summary"] for r in rows] == [e.payload.text for e in reversed(expected)]  # newest first
    everything = client.get("/v1/incidents.csv").text
    assert everything.count("\n") == STORIES + 2  # header and every incident, more than one chunk's worth


def test_personal_data_in_texts_is_hidden_from_roles_without_it(client: TestClient) -> None:
    officer = client.get("/v1/incidents", params={"q": "saksi"}).json()["items"]
    assert [i["summary"] for i in officer] == [WITNESS]
    leader = client.get("/v1/incidents", params={"q": "saksi"}, headers=as_leader()).json()["items"]
    assert len(leader) == 1 and PHONE not in leader[0]["summary"] and NIK not in leader[0]["summary"]
    assert "Rahmat" in leader[0]["summary"] and "[disamarkan]" in leader[0]["summary"]
    detail = client.get(f"/v1/incidents/{leader[0]['incident_id']}", headers=as_leader()).json()
    assert all(PHONE not in r["text"] for r in detail["reports"]) and PHONE not in detail["summary"]
    exported = client.get("/v1/incidents.csv", params={"q": "saksi"}, headers=as_leader()).text
    assert PHONE not in exported and NIK not in exported and "Rahmat" in exported
    assert PHONE in client.get("/v1/incidents.csv", params={"q": "saksi"}).text


def test_who_am_i(client: TestClient) -> None:
    me = client.get("/v1/me", headers=as_leader()).json()
    assert me == {"login": "pimpinan", "roles": ["leader"], "capabilities": ["read_board"],
                  "as_of": None}
    assert "decide" in client.get("/v1/me").json()["capabilities"]


@pytest.mark.parametrize("written", ["+62 812 3456 7890", "+62 812-3456-7890", "62-812-3456-7890", "0812.3456.789",
                                     "1101 0123 4567 0001", "(0651) 21234", "0629-21234", "saksi@desa.go.id"])
def test_phone_numbers_nik_and_addresses_as_people_write_them_are_hidden(written: str) -> None:
    assert redact_personal(f"Hubungi {written} segera") == "Hubungi [disamarkan] segera"


@pytest.mark.parametrize("kept", ["TPS 05 pukul 10.30", "Rp 50.000 per orang", "tanggal 27-11-2024",
                                  "desa 11.13.01.2001", "300 orang"])
def test_ordinary_numbers_stay(kept: str) -> None:
    assert redact_personal(kept) == kept


def test_a_hidden_number_cannot_be_found_by_searching_for_it(client: TestClient) -> None:
    def found(query: str, headers: dict[str, str] | None = None) -> bool:
        items = client.get("/v1/incidents", params={"q": query}, headers=headers or {}).json()["items"]
        return any("Rahmat" in i["summary"] for i in items)

    for piece in (PHONE[:4], NIK[:6], NIK):  # (PostgreSQL reads "-3456" in 0812-3456 as a signed number)
        assert found(piece), piece  # an officer may search by number
        assert not found(piece, as_leader()), piece  # a leader's search leaves the number out
    assert found(f"saksi {NIK}", as_leader())  # the words he may read still count


def test_texts_never_start_a_spreadsheet_formula() -> None:
    assert export._cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert export._cell("-1+2") == "'-1+2" and export._cell("Warga") == "Warga" and export._cell(None) == ""


@pytest.mark.parametrize("written", ["0.5", "1732700000", "2024-11-27"])
def test_a_time_filter_is_a_date_time_as_documented(client: TestClient, written: str) -> None:
    assert client.get("/v1/incidents", params={"from": written}).status_code == 422
    assert client.get("/v1/incidents", params={"from": "2024-11-27T07:00:00+07:00"}).status_code == 200
