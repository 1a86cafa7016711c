"""The desk's working day end to end, every service its own process: two reports of one
happening become one incident; a desk officer verifies it on triage's API; the assigned agency
acknowledges with its own key; the officer closes it; a later report opens a new incident; the
projection shows each step."""

from __future__ import annotations

import uuid

import httpx
import pytest

from desk_shared.access.people import Role
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_testing.agencies import agency_key, bearer
from desk_testing.fixtures import wait_for
from desk_testing.people import person_token
from desk_testing.system import RunningSystem

pytestmark = pytest.mark.system

VILLAGE = "11.13.01.2003"
FIRST = "Timses paslon 2 bagi amplop isi 100 ribu ke rumah warga malam ini di dusun Pulo"
SECOND = "Laporan warga: amplop uang dari tim paslon 2 dibagikan malam ini ke warga dusun Pulo"


def submit(system: RunningSystem, text: str) -> str:
    answer = httpx.post(f"{system.intake}/v1/reports", headers=system.auth,
                        json={"kecamatan": "11.13.01", "village": VILLAGE, "text": f"{text} ({uuid.uuid4().hex[:4]})"})
    assert answer.status_code == 202, answer.text
    return answer.json()["report_id"]


def test_an_incident_worked_from_reports_to_closure(system: RunningSystem) -> None:
    officer = bearer(person_token(system.bus, "petugas.desk", (Role.DESK_OFFICER,)))
    bawaslu = bearer(agency_key(system.bus, "bawaslu-gayo-lues", Areas(regencies=("11.13",)), AgencyKind.BAWASLU))
    first, second = submit(system, FIRST), submit(system, SECOND)

    def both_in_one() -> dict | None:
        incident = system.incident_of(second)
        return incident if incident and len(incident["reports"]) == 2 else None

    incident = wait_for(both_in_one, 30, what="the second report joining the first's incident")
    assert {r["report_id"] for r in incident["reports"]} == {first, second}
    assert incident["report_count"] == 2 and incident["classification"] == "otomatis"
    assert "bawaslu" in {a["agency"] for a in incident["assignments"]}
    incident_id = incident["incident_id"]

    verified = httpx.post(f"{system.triage}/v1/incidents/{incident_id}/verify", headers=officer,
                          json={"note": "Dicek ke Panwascam: benar"})
    assert verified.status_code == 202, verified.text
    acknowledged = httpx.post(f"{system.triage}/v1/incidents/{incident_id}/progress", headers=bawaslu,
                              json={"stage": "acknowledged", "note": "PKD meluncur"})
    assert acknowledged.status_code == 202, acknowledged.text
    stranger = httpx.post(f"{system.triage}/v1/incidents/{incident_id}/progress",
                          headers=bearer("dpk_" + "0" * 12 + "_" + "A" * 43), json={"stage": "acted"})
    assert stranger.status_code == 401
    leader = httpx.post(f"{system.triage}/v1/incidents/{incident_id}/close", headers=system.reader,
                        json={"reason": "selesai_ditindaklanjuti"})
    assert leader.status_code == 403  # a leader reads; only desk officers decide

    def shown() -> dict | None:
        detail = httpx.get(f"{system.projection}/v1/incidents/{incident_id}", headers=system.reader).json()
        done = [a for a in detail["assignments"] if a["agency"] == "bawaslu" and a["acknowledged_at"]]
        return detail if detail["classification"] == "terverifikasi" and done else None

    detail = wait_for(shown, 20, what="the verification and the acknowledgement in the projection")
    queue = httpx.get(f"{system.projection}/v1/agencies/bawaslu/queue", headers=system.reader).json()
    assert incident_id in [item["incident_id"] for item in queue["items"]]
    assert any(e["event_type"] == "IncidentVerified" for e in detail["timeline"])

    closed = httpx.post(f"{system.triage}/v1/incidents/{incident_id}/close", headers=officer,
                        json={"reason": "selesai_ditindaklanjuti", "note": "Amplop disita Gakkumdu"})
    assert closed.status_code == 202, closed.text
    wait_for(lambda: httpx.get(f"{system.projection}/v1/incidents/{incident_id}",
                               headers=system.reader).json()["status"] == "closed", 20, what="the incident closed")
    later = submit(system, FIRST)
    new = wait_for(lambda: system.incident_of(later), 20, what="the later report's incident")
    assert new["incident_id"] != incident_id  # a closed incident is never joined
