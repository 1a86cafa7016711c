"""'Cek segera' through the running system: a report whose urgency cannot be ruled out waits in the
desk officers' queue with a deadline; an officer dismisses one, another is confirmed, a third is
not answered and escalates at its deadline, once, and its alerts arrive."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from desk_shared.contracts.people import Role
from desk_testing.agencies import bearer
from desk_testing.fixtures import wait_for
from desk_testing.people import person_token
from desk_testing.system import RunningSystem, running_system

pytestmark = pytest.mark.system

CHECKED = ["Kepala desa ikut rapat tim pemenangan paslon 1 di rumah makan.",
           "Surat suara untuk TPS 7 kurang 20 lembar, PPS sedang berkoordinasi dengan KPU."]
DEADLINE_SECONDS = 6


@pytest.fixture(scope="module")
def desk(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(nats_url, tmp_path_factory.mktemp("checks"),
                        DESK_TRIAGE_CHECK_MINUTES=str(DEADLINE_SECONDS / 60)) as running:
        yield running


def submit(desk: RunningSystem, text: str, kecamatan: str) -> str:
    answer = httpx.post(f"{desk.intake}/v1/reports", headers=desk.auth, json={"kecamatan": kecamatan, "text": text})
    assert answer.status_code == 202, answer.text
    return answer.json()["report_id"]


def queue(desk: RunningSystem) -> dict[str, dict]:
    items = httpx.get(f"{desk.projection}/v1/checks", headers=desk.reader).json()["items"]
    return {i["report_id"]: i for i in items}


def test_unanswered_checks_escalate_at_their_deadline_and_answers_count(desk: RunningSystem) -> None:
    officer = bearer(person_token(desk.bus, "petugas.cek", roles=(Role.DESK_OFFICER,)))
    dismissed, confirmed, waiting = (submit(desk, text, kec) for text, kec in
                                     ((CHECKED[0], "11.13.01"), (CHECKED[1], "11.13.02"), (CHECKED[0], "11.13.03")))
    checks = wait_for(lambda: (q := queue(desk)) and len(q) == 3 and q, 20, what="three checks in the queue")
    assert all(c["urgent_check"] == "open" and c["urgent_check_due"] for c in checks.values())

    def answer(report_id: str, urgent: bool, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{desk.triage}/v1/incidents/{checks[report_id]['incident_id']}/urgency", headers=headers,
                          json={"urgent": urgent, "note": "sudah dicek"})

    assert answer(dismissed, False, desk.reader).status_code == 403  # a leader does not decide
    assert answer(dismissed, False, {}).status_code == 401
    assert answer(dismissed, False, officer).status_code == 202
    assert answer(confirmed, True, officer).json() == {"incident_id": checks[confirmed]["incident_id"],
                                                        "escalated": True}
    assert answer(dismissed, True, officer).status_code == 409  # answered already

    def settled() -> bool:
        return all((i := desk.incident_of(r)) and i["urgent_check"] == state for r, state in
                   ((dismissed, "dismissed"), (confirmed, "confirmed"), (waiting, "expired")))

    wait_for(settled, DEADLINE_SECONDS + 20, what="the answers recorded and the third check expired")
    assert queue(desk) == {}
    escalations = desk.events("IncidentEscalated")
    reasons = {e["payload"]["report_id"]: e["payload"]["reason"] for e in escalations}
    assert reasons == {confirmed: "urgency_confirmed", waiting: "urgent_check_expired"}
    assert len(escalations) == 2  # one each, however many triage replicas or ticks saw the deadline
    confirmer = next(e for e in escalations if e["payload"]["report_id"] == confirmed)["actor"]
    assert confirmer["kind"] == "person"
    wait_for(lambda: sum(1 for a in desk.inbox.alerts if a.get("incident", {}).get("report_id") == waiting) == 2, 20,
             what="the expired check's two alerts at the receiver")
    assert desk.incident_of(dismissed)["status"] == "triaged"


def test_the_queue_needs_a_person(desk: RunningSystem) -> None:
    assert httpx.get(f"{desk.projection}/v1/checks").status_code == 401
