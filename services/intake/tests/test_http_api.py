"""The HTTP door as `create_app` wires it (lean POST /v1/reports beside FastAPI), with a
stand-in for the log: status codes, problem documents, and what reaches the log."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from desk_intake.bootstrap import create_app
from desk_intake.receiving import Receipt
from desk_intake.settings import IntakeSettings
from desk_intake.submission import KeyReused, SubmitReport, accept, same_report
from desk_shared.access.registry import Registry, evolve, issue, register, revoke
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.regions import regions
from desk_shared.contracts.reports import ReportSubmitted
from desk_shared.runtime.publisher import PublishFailed
from desk_shared.runtime.settings import BusSettings

GOOD = {"kecamatan": "11.13.01", "text": "Kotak suara di TPS 02 rusak."}
ADMIN = Actor(kind="person", id="admin")
JSON = {"Content-Type": "application/json"}


class FakeIntake:
    """Accepts like the real one (same checks, same ids) and remembers what it would append."""

    def __init__(self) -> None:
        self.appended: list[uuid.UUID] = []
        self.stored: dict[uuid.UUID, ReportSubmitted] = {}
        self.agencies: list[str] = []
        self.unavailable = False

    async def submit(self, report: SubmitReport, *, channel: str, agency: str | None = None,
                     header_key: str | None = None, areas: Areas | None = None) -> Receipt:
        event = accept(report, channel=channel, agency=agency, header_key=header_key,  # type: ignore[arg-type]
                       scope=frozenset(), areas=areas)
        self.agencies.append(event.payload.agency)
        if self.unavailable:
            raise PublishFailed("no stream leader")
        duplicate = event.event_id in self.appended
        if duplicate and not same_report(event, self.stored[event.event_id]):
            raise KeyReused("idempotency key reused")
        if not duplicate:
            self.appended.append(event.event_id)
            self.stored[event.event_id] = event
        return Receipt(event.event_id, duplicate, self.appended.index(event.event_id) + 1)


@pytest.fixture
def intake() -> FakeIntake:
    return FakeIntake()


class Keys:
    """The registry the door checks keys against (as if folded from the log), and two agencies' keys."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.kpu = self.agency("kpu", Areas(regencies=("11.13",)))
        self.camat = self.agency("camat-blangkejeren", Areas(kecamatan=("11.13.01",)))

    def agency(self, code: str, areas: Areas) -> str:
        self.registry = evolve(self.registry, register(self.registry, regions(), code=code, name=code,
                                                       kind=AgencyKind.OTHER, areas=areas, actor=ADMIN, producer="t"))
        issued = issue(self.registry, code=code, actor=ADMIN, producer="t")
        self.registry = evolve(self.registry, issued.event)
        return issued.token

    def revoke(self, token: str) -> None:
        key_id = token.split("_")[1]
        self.registry = evolve(self.registry, revoke(self.registry, key_id=key_id, reason="t", actor=ADMIN,
                                                     producer="t"))


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
async def client(intake: FakeIntake, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    doors = create_app(IntakeSettings(max_body_bytes=1024, retry_after_seconds=7), BusSettings())
    doors.app.state.intake = intake
    doors.app.state.registry = lambda: keys.registry
    async with httpx.AsyncClient(transport=httpx.ASGITransport(doors), base_url="http://intake",
                                 headers={"Authorization": f"Bearer {keys.kpu}"}) as client:
        yield client


async def test_an_accepted_report_gets_202_and_its_id(client: httpx.AsyncClient, intake: FakeIntake) -> None:
    answer = await client.post("/v1/reports", json=GOOD)
    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body == {"report_id": str(intake.appended[0]), "status": "accepted", "duplicate": False, "sequence": 1}


async def test_the_same_key_for_a_different_report_gets_409(client: httpx.AsyncClient, intake: FakeIntake) -> None:
    assert (await client.post("/v1/reports", json=GOOD, headers={"Idempotency-Key": "k-9"})).status_code == 202
    answer = await client.post("/v1/reports", json=GOOD | {"text": "Laporan lain."}, headers={"Idempotency-Key": "k-9"})
    assert answer.status_code == 409 and answer.json()["type"] == "/problems/key-reused"
    assert len(intake.appended) == 1


async def test_the_same_key_in_header_or_field_is_the_same_report(client: httpx.AsyncClient,
                                                                  intake: FakeIntake) -> None:
    first = (await client.post("/v1/reports", json=GOOD, headers={"Idempotency-Key": "k-7"})).json()
    again = (await client.post("/v1/reports", json=GOOD | {"idempotency_key": "k-7"})).json()
    assert again["report_id"] == first["report_id"] and again["duplicate"] is True
    assert len(intake.appended) == 1


@pytest.mark.parametrize(("body", "headers", "status", "fields"), [
    (b'{"kecamatan": "11.13.01", "text": ', JSON, 400, {"body"}),
    (b'{"kecamatan": "11.13.01", "text": "\xff"}', JSON, 400, {"body"}),
    (b"", JSON, 422, {"body"}),
    (b"[]", JSON, 422, {"body"}),
    (json.dumps(GOOD).encode(), {"Content-Type": "text/plain"}, 422, {"body"}),
    (json.dumps({"kecamatan": "99.99.99", "text": " ", "colour": "red"}).encode(), JSON, 422,
     {"kecamatan", "text", "colour"}),
    (json.dumps(GOOD | {"occurred_at": "0001-01-01T00:00:00+14:00"}).encode(), JSON, 422, {"occurred_at"}),
    (json.dumps(GOOD | {"occurred_at": "1999-12-31T23:00:00+00:00"}).encode(), JSON, 422, {"occurred_at"}),
    (json.dumps(GOOD | {"occurred_at": "2999-01-01T00:00:00+00:00"}).encode(), JSON, 422, {"occurred_at"}),
    (json.dumps(GOOD | {"village": "11.14.01.2001"}).encode(), JSON, 422, {"village"}),
    (json.dumps({"kecamatan": "1"}).encode(), JSON | {"Idempotency-Key": "k" * 201}, 422,
     {"header.idempotency-key", "kecamatan", "text"}),
    (json.dumps(GOOD | {"idempotency_key": "a"}).encode(), JSON | {"Idempotency-Key": "b"}, 422,
     {"idempotency_key"}),
])
async def test_bad_input_gets_a_problem_document_and_appends_nothing(
        client: httpx.AsyncClient, intake: FakeIntake, body: bytes, headers: dict[str, str], status: int,
        fields: set[str]) -> None:
    answer = await client.post("/v1/reports", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert {e["field"] for e in problem["errors"]} == fields
    assert intake.appended == []


async def test_an_oversized_body_gets_413(client: httpx.AsyncClient, intake: FakeIntake) -> None:
    answer = await client.post("/v1/reports", json=GOOD | {"text": "a" * 2000})
    assert answer.status_code == 413
    assert answer.json()["title"] == "Request too large"
    assert intake.appended == []


async def test_an_unavailable_log_gets_503_with_retry_after(client: httpx.AsyncClient, intake: FakeIntake) -> None:
    intake.unavailable = True
    answer = await client.post("/v1/reports", json=GOOD)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["title"] == "Event log unavailable"


async def test_other_paths_and_methods_are_fastapis(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/reports")).status_code == 405
    missing = await client.get("/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert (await client.get("/health")).status_code == 503  # no NATS connection in this test


async def test_the_openapi_document_describes_the_report_body_and_key_header(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/v1/reports"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"kecamatan", "text", "occurred_at", "category_hint"} <= set(schema["properties"])
    assert "$defs" not in json.dumps(schema)
    assert [p["name"] for p in operation["parameters"]] == ["idempotency-key"]
    assert set(operation["responses"]) == {"202", "400", "401", "403", "409", "413", "422", "429", "503"}


async def test_the_openapi_document_declares_the_agency_key(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["paths"]["/v1/reports"]["post"]["security"] == [{"agencyKey": []}]
    assert document["components"]["securitySchemes"]["agencyKey"] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "description": ""}


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic a3B1OnNlY3JldA==", "dpk_x",
                                           "Bearer dpk_0123456789ab_" + "a" * 43, "Bearer " + "x" * 5000])
async def test_no_valid_key_gets_401_before_the_body_is_looked_at(client: httpx.AsyncClient, intake: FakeIntake,
                                                                 authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    client.headers.pop("Authorization")
    answer = await client.post("/v1/reports", content=b"not even json", headers=JSON | headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["type"] == "/problems/unauthenticated"
    assert intake.appended == []


async def test_a_revoked_key_is_refused(client: httpx.AsyncClient, intake: FakeIntake, keys: Keys) -> None:
    assert (await client.post("/v1/reports", json=GOOD)).status_code == 202
    keys.revoke(keys.kpu)
    answer = await client.post("/v1/reports", json=GOOD | {"text": "Laporan lain."})
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"].lower()
    assert len(intake.appended) == 1


async def test_the_agency_is_the_keys_and_reports_only_for_its_areas(client: httpx.AsyncClient, intake: FakeIntake,
                                                                      keys: Keys) -> None:
    camat = {"Authorization": f"Bearer {keys.camat}"}
    assert (await client.post("/v1/reports", json=GOOD, headers=camat)).status_code == 202
    outside = await client.post("/v1/reports", json=GOOD | {"kecamatan": "11.13.02"}, headers=camat)
    assert outside.status_code == 403 and outside.json()["type"] == "/problems/outside-area"
    other = await client.post("/v1/reports", json=GOOD | {"agency": "kpu"}, headers=camat)  # not who the key says
    assert other.status_code == 422 and {e["field"] for e in other.json()["errors"]} == {"agency"}
    assert intake.agencies[0] == "camat-blangkejeren" and len(intake.appended) == 1


async def test_a_flood_and_repeated_failures_get_429_with_retry_after(intake: FakeIntake, keys: Keys) -> None:
    doors = create_app(IntakeSettings(agency_rate=0.01, agency_burst=3, failures_per_minute=2), BusSettings())
    doors.app.state.intake = intake
    doors.app.state.registry = lambda: keys.registry
    async with httpx.AsyncClient(transport=httpx.ASGITransport(doors), base_url="http://intake") as client:
        kpu = {"Authorization": f"Bearer {keys.kpu}"}
        codes = [(await client.post("/v1/reports", json=GOOD | {"text": f"Laporan {n}."}, headers=kpu)).status_code
                 for n in range(4)]
        assert codes == [202, 202, 202, 429]
        flooded = await client.post("/v1/reports", json=GOOD | {"text": "Laporan 5."}, headers=kpu)
        assert int(flooded.headers["Retry-After"]) >= 1 and flooded.json()["type"] == "/problems/too-many-requests"
        camat = {"Authorization": f"Bearer {keys.camat}"}
        assert (await client.post("/v1/reports", json=GOOD, headers=camat)).status_code == 202  # its own bucket

        wrong = {"Authorization": "Bearer dpk_0123456789ab_" + "a" * 43}
        codes = [(await client.post("/v1/reports", json=GOOD, headers=wrong)).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        assert (await client.post("/v1/reports", json=GOOD | {"text": "Lagi."}, headers=camat)).status_code == 202
    assert len(intake.appended) == 5
