"""The desk's working day in the read models: incidents of several reports, officers' decisions,
agencies' assignments and deadlines, kecamatan levels; a rebuild gives the same rows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from desk_projection.api import create_app
from desk_projection.projector import Delivered, Projector
from desk_projection.settings import ProjectionSettings
from desk_projection.tables import READ_MODEL_TABLES, area_levels, assignments, incidents, reports, skipped_events
from desk_shared.access.people import Principal, Role
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import Actor, Event, derived_id
from desk_shared.contracts.escalation import (
    AlertAcknowledged,
    AlertAcknowledgedPayload,
    EscalationStarted,
    EscalationStartedPayload,
    EscalationStep,
    EscalationStepReached,
    EscalationStepReachedPayload,
)
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    AreaAlertLevelChangedPayload,
    ClosingReason,
    IncidentAssigned,
    IncidentAssignedPayload,
    IncidentAssignmentOverdue,
    IncidentAssignmentOverduePayload,
    IncidentClosed,
    IncidentClosedPayload,
    IncidentEscalatedPayload,
    IncidentMerged,
    IncidentMergedPayload,
    IncidentOpened,
    IncidentOpenedPayload,
    IncidentProgressRecorded,
    IncidentProgressRecordedPayload,
    IncidentReport,
    IncidentReportAdded,
    IncidentReportAddedPayload,
    IncidentSeverityChanged,
    IncidentSeverityChangedPayload,
    IncidentSplit,
    IncidentSplitPayload,
    IncidentVerified,
    IncidentVerifiedPayload,
    Liaison,
    Stage,
)
from desk_shared.contracts.reports import ReportTriaged
from desk_shared.contracts.taxonomy import Category, Severity
from desk_testing import samples
from desk_testing.people import StaticGuard

KEC = "11.13.01"
OFFICER = Actor(kind="person", id="petugas-1")


def entry(submitted: Any, category: Category, severity: Severity) -> IncidentReport:
    p = submitted.payload
    return IncidentReport(report_id=p.report_id, reported_at=submitted.occurred_at, village_code=p.village_code,
                          tps="3", category=category, severity=severity, summary=p.text)


def triaged_into(triaged: ReportTriaged, incident_id: uuid.UUID) -> ReportTriaged:
    """The triage of a report that joined `incident_id`."""
    return triaged.model_copy(update={"payload": triaged.payload.model_copy(update={"incident_id": incident_id})})


def decided(kind: type[Event], payload: Any, minutes: int, actor: Actor = OFFICER) -> Event:
    return kind.decided(actor, "triage", payload, command=(uuid.uuid4(), kind.event_type),
                        at=samples.START + timedelta(minutes=minutes))


def chain(incident: uuid.UUID, cause: Event) -> list[Event]:
    """The incident's escalation chain as notify appends it: started, a step on, acknowledged."""
    polsek = Liaison(id=f"polsek:{KEC}", agency="polri", unit="Polsek Blangkejeren")
    polres = Liaison(id="polres:11.13", agency="polri", unit="Polres Gayo Lues")
    chain_id = derived_id(cause.event_id, "EscalationStarted")
    base = {"chain_id": chain_id, "incident_id": incident, "kecamatan_code": KEC}
    escalated = IncidentEscalatedPayload(incident_id=incident, kecamatan_code=KEC, report_id=uuid.uuid4(),
                                         category=Category.VIOLENCE, severity=Severity.KRITIS, summary="bentrok",
                                         liaisons=())
    started = EscalationStarted.caused_by(cause, "notify", EscalationStartedPayload(
        **base, severity=Severity.KRITIS, policy_version="uji", rule="kritis", rounds=1,
        steps=(EscalationStep(recipients=(polsek,), ack_within_seconds=300),
               EscalationStep(recipients=(polres,), ack_within_seconds=300)),
        remind_after_seconds=3600, reminders=1, exhausted=(polres,), escalation=escalated))
    step = EscalationStepReached.caused_by(started, "notify", EscalationStepReachedPayload(
        **base, step=1, round=0, recipients=(polres,), unanswered_since=started.occurred_at))
    ack = decided(AlertAcknowledged, AlertAcknowledgedPayload(**base, liaison_id=polres.id, via="link"), 12,
                  Actor(kind="person", id=polres.id))
    return [started, step, ack]


def story() -> tuple[list[Event], uuid.UUID, uuid.UUID]:
    """Two reports of one fight, a third report opening another incident merged into it later;
    routing, progress, a missed deadline, a level rise, verification and closing."""
    a, b, c = (samples.report_submitted(n, kecamatan=KEC, village="11.13.01.2001") for n in (1, 2, 3))
    incident, other = derived_id(a.payload.report_id, "incident"), derived_id(c.payload.report_id, "incident")
    base = {"kecamatan_code": KEC, "incident_id": incident}
    start = samples.START
    events: list[Event] = [
        a, IncidentOpened.caused_by(a, "triage", IncidentOpenedPayload(
            **base, report=entry(a, Category.SOCIAL_FRICTION, Severity.SEDANG), category=Category.SOCIAL_FRICTION,
            severity=Severity.SEDANG)),
        IncidentAssigned.caused_by(a, "triage", IncidentAssignedPayload(
            **base, agency="polsek", reason="routing: keamanan", acknowledge_by=start + timedelta(hours=4),
            act_by=start + timedelta(hours=24))),
        samples.report_triaged(a, 1, category=Category.SOCIAL_FRICTION, severity=Severity.SEDANG),
        b, IncidentReportAdded.caused_by(b, "triage", IncidentReportAddedPayload(
            **base, report=entry(b, Category.VIOLENCE, Severity.KRITIS), reason="same TPS 3: score 7")),
        IncidentSeverityChanged.caused_by(b, "triage", IncidentSeverityChangedPayload(
            **base, severity=Severity.KRITIS, previous=Severity.SEDANG, reason="report b")),
        triaged_into(samples.report_triaged(b, 2, category=Category.VIOLENCE, severity=Severity.KRITIS), incident),
        AreaAlertLevelChanged.caused_by(b, "triage", AreaAlertLevelChangedPayload(
            kecamatan_code=KEC, level=AlertLevel.SIAGA, previous=AlertLevel.AMAN, score=6.0, reason="1 kritis")),
        c, IncidentOpened.caused_by(c, "triage", IncidentOpenedPayload(
            kecamatan_code=KEC, incident_id=other, report=entry(c, Category.VIOLENCE, Severity.TINGGI),
            category=Category.VIOLENCE, severity=Severity.TINGGI)),
        decided(IncidentProgressRecorded, IncidentProgressRecordedPayload(
            **base, agency="polsek", stage=Stage.ACKNOWLEDGED, note="anggota meluncur"), 10, Actor.agency("polres")),
        decided(IncidentAssignmentOverdue, IncidentAssignmentOverduePayload(
            **base, agency="polsek", stage=Stage.ACTED, due=start + timedelta(hours=24)), 24 * 60),
        decided(IncidentMerged, IncidentMergedPayload(**base, merged_incident_id=other,
                                                      report_ids=(c.payload.report_id,)), 30),
        decided(IncidentVerified, IncidentVerifiedPayload(**base, category=Category.VIOLENCE,
                                                          severity=Severity.KRITIS), 31),
        *chain(incident, b),
        decided(IncidentClosed, IncidentClosedPayload(**base, reason=ClosingReason.RESOLVED, note="didamaikan"), 90),
    ]
    return events, incident, other


def project(engine: Engine, events: list[Event]) -> None:
    Projector(engine).apply_batch(0, [Delivered(i + 1, e) for i, e in enumerate(events)])


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in READ_MODEL_TABLES}


def test_an_incident_of_several_reports_worked_to_closure(engine: Engine) -> None:
    events, incident_id, other = story()
    project(engine, events)
    with engine.connect() as conn:
        found = {r.incident_id: r for r in conn.execute(sa.select(incidents))}
        linked = {r.report_id: r.incident_id for r in conn.execute(sa.select(reports))}
        [assignment] = conn.execute(sa.select(assignments)).all()
        [level] = conn.execute(sa.select(area_levels)).all()
    main = found[incident_id]
    assert (main.status, main.category, main.severity, main.automated, main.report_count) == (
        "closed", "violence", "kritis", False, 3)
    assert main.closed_reason == "selesai_ditindaklanjuti" and main.confidence is not None
    assert (found[other].status, found[other].merged_into) == ("merged", incident_id)
    assert set(linked.values()) == {incident_id}  # the merged incident's report moved with it
    assert assignment.acknowledged_at is not None and assignment.overdue == ["acted"]
    assert (level.level, level.previous) == ("siaga", "aman")

    app = create_app(engine, ProjectionSettings(region_regencies="11.13"))
    officer = Principal("p-1", "petugas", (Role.DESK_OFFICER,), Areas(regencies=("11.13",)))
    app.state.people_guard = StaticGuard({"officer-token": officer})
    client = TestClient(app)
    headers = {"Authorization": "Bearer officer-token"}
    detail = client.get(f"/v1/incidents/{incident_id}", headers=headers).json()
    assert [r["category"] for r in detail["reports"]] == ["social_friction", "violence", None]
    assert detail["classification"] == "terverifikasi" and detail["closed_reason_label"] == "Selesai ditindaklanjuti"
    escalation = [(t["event_type"], t["summary"]) for t in detail["timeline"]
                  if t["event_type"].startswith(("Escalation", "AlertAcknowledged"))]
    assert [kind for kind, _ in escalation] == ["EscalationStarted", "EscalationStepReached", "AlertAcknowledged"]
    assert escalation[0][1]["recipients"] == [f"polsek:{KEC}"] and escalation[1][1]["recipients"] == ["polres:11.13"]
    assert escalation[2][1] | {"chain_id": ""} == {"chain_id": "", "liaison_id": "polres:11.13", "via": "link",
                                                   "by": "polres:11.13"}
    assert [a["agency"] for a in detail["assignments"]] == ["polsek"] and detail["assignments"][0]["sla"] == "terlambat"
    queue = client.get("/v1/agencies/polsek/queue", params={"open_only": "false"}, headers=headers).json()
    assert [item["incident_id"] for item in queue["items"]] == [str(incident_id)]
    [performance] = client.get("/v1/agencies/performance", headers=headers).json()
    assert (performance["agency"], performance["median_minutes_to_acknowledge"],
            performance["median_minutes_to_close"]) == ("polsek", 10.0, 90.0)
    [area] = client.get("/v1/areas", headers=headers).json()
    assert (area["level_label"], area["kecamatan_name"]) == ("Siaga", "Blangkejeren")
    situation = client.get("/v1/situation", headers=headers).json()
    here = next(k for k in situation["kecamatan"] if k["code"] == KEC)
    assert (here["level"], here["incidents"]) == ("siaga", 0)  # closed and merged incidents are not counted


def test_a_split_makes_a_new_incident_of_the_reports_it_takes(engine: Engine) -> None:
    events, incident_id, _ = story()
    closing = events.pop()  # split before closing
    b = events[4]
    assert b.event_type == "ReportSubmitted"
    new = uuid.uuid4()
    events.append(decided(IncidentSplit, IncidentSplitPayload(
        kecamatan_code=KEC, incident_id=incident_id, new_incident_id=new, report_ids=(b.payload.report_id,),
        category=Category.VIOLENCE, severity=Severity.TINGGI, note="kejadian lain"), 80))
    project(engine, [*events, closing])
    with engine.connect() as conn:
        found = {r.incident_id: r for r in conn.execute(sa.select(incidents))}
        linked = {r.report_id: r.incident_id for r in conn.execute(sa.select(reports))}
        skipped = conn.execute(sa.select(skipped_events)).all()
    assert not skipped
    assert (found[new].status, found[new].category, found[new].report_count) == ("triaged", "violence", 1)
    assert found[incident_id].report_count == 2 and linked[b.payload.report_id] == new


def test_a_rebuild_gives_the_same_rows(engine: Engine) -> None:
    events, _, _ = story()
    one_by_one = Projector(engine)
    for seq, event in enumerate(events, 1):
        one_by_one.apply_batch(seq - 1, [Delivered(seq, event)])
    first = dump(engine)
    with engine.begin() as conn:
        for table in reversed(READ_MODEL_TABLES):
            conn.execute(table.delete())
    project(engine, events)  # the same log in one batch
    assert dump(engine) == first
