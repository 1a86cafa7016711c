"""The incident as its events make it, without I/O: grouping, growth, routing, escalation, levels,
officers' decisions, agencies' deadlines, and replays that give the same incidents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk_shared.contracts.agencies import AgencyKind
from desk_shared.contracts.envelope import Actor, derived_id
from desk_shared.contracts.events import ReportSubmitted, ReportSubmittedPayload
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    ClosingReason,
    IncidentAssigned,
    IncidentAssignmentOverdue,
    IncidentEscalated,
    IncidentOpened,
    IncidentReclassified,
    IncidentReportAdded,
    KeyedEvent,
    Liaison,
    Stage,
)
from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.incidents import decide as d
from desk_triage.incidents.grouping import tps_of
from desk_triage.incidents.levels import assess, next_fall
from desk_triage.incidents.state import Area, Book, fold

T0 = datetime(2024, 11, 27, 6, tzinfo=UTC)
KEC = "11.13.01"
VILLAGE_A, VILLAGE_B = "11.13.01.2001", "11.13.01.2002"
POLSEK = Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren")
DESK = Liaison(id="desk:11.13", agency="desk", unit="Desk Pemilu Kabupaten Gayo Lues")
DESK_POLICY = d.Desk(liaisons=lambda _code: (POLSEK,), desk_liaisons=lambda _code: (DESK,))
OFFICER = Actor(kind="person", id="petugas-1")


def submitted(text: str, minutes: float, village: str | None = VILLAGE_A, key: str | None = None) -> ReportSubmitted:
    at = T0 + timedelta(minutes=minutes)
    report_id = derived_id(key or f"{text}:{minutes}:{village}", "report")
    return ReportSubmitted(event_id=derived_id(report_id, "event"), occurred_at=at, recorded_at=at,
                           correlation_id=report_id, producer="test", actor=Actor.agency("polsek"),
                           payload=ReportSubmittedPayload(report_id=report_id, agency="polsek", channel="http",
                                                          kecamatan_code=KEC, village_code=village, text=text))


class Log:
    """A kecamatan's events as a log would hold them, folded as triage folds them."""

    def __init__(self) -> None:
        self.book = Book()
        self.events: list[KeyedEvent] = []

    @property
    def area(self) -> Area:
        return self.book.area(KEC)

    def append(self, events: list[KeyedEvent]) -> list[KeyedEvent]:
        for event in events:
            self.events.append(event)
            self.book = fold(self.book, event, len(self.events))
        return events

    def report(self, text: str, minutes: float, category: Category, severity: Severity,
               village: str | None = VILLAGE_A) -> tuple[ReportSubmitted, list[KeyedEvent]]:
        event = submitted(text, minutes, village)
        entry = d.report_entry(event, category, severity, text)
        return event, self.append(d.on_report(self.area, event, entry, DESK_POLICY))

    def command(self, incident_id: uuid.UUID, command: d.Command, minutes: float,
                actor: Actor = OFFICER) -> list[KeyedEvent]:
        return self.append(d.decide(self.area, incident_id, command, actor, uuid.uuid4(),
                                    T0 + timedelta(minutes=minutes), DESK_POLICY))

    def incident_of(self, report: ReportSubmitted) -> uuid.UUID:
        return self.area.placed[report.payload.report_id]


def types(events: list[KeyedEvent]) -> list[str]:
    return [e.event_type for e in events]


def test_tps_numbers_are_read_from_the_text() -> None:
    assert [tps_of(t) for t in ("di TPS 03 Sengkol", "tps no. 7", "TPS-12 ricuh", "tidak ada")] == ["3", "7", "12",
                                                                                                     None]


def test_a_report_opens_an_incident_routes_it_and_escalates_it() -> None:
    log = Log()
    report, events = log.report("Massa bakar kotak suara di TPS 03", 0, Category.VIOLENCE, Severity.KRITIS)
    assert types(events)[0] == "IncidentOpened" and "IncidentEscalated" in types(events)
    incident = log.area.incidents[log.incident_of(report)]
    assert incident.id == d.incident_of(report.payload.report_id)
    assert set(incident.assignments) == {"polsek", "koramil", "polres", "kodim"}
    assert all(a.acknowledge_by == T0 + timedelta(minutes=15) for a in incident.assignments.values())
    [escalated] = [e for e in events if isinstance(e, IncidentEscalated)]
    assert escalated.payload.liaisons == (POLSEK,) and escalated.payload.reports == 1
    [level] = [e for e in events if isinstance(e, AreaAlertLevelChanged)]
    assert level.payload.level is AlertLevel.SIAGA and level.payload.liaisons == (POLSEK, DESK)
    assert {e.occurred_at for e in events} == {T0}  # event time: the report's, never the clock
    assert d.on_report(log.area, report, d.report_entry(report, Category.VIOLENCE, Severity.KRITIS, "x"),
                       DESK_POLICY) == []  # a redelivered report is already placed: nothing again


def test_reports_of_one_happening_join_and_a_growing_happening_stays_one() -> None:
    log = Log()
    first, _ = log.report("Adu mulut pendukung paslon 01 dan 02 di TPS 03", 0, Category.SOCIAL_FRICTION,
                          Severity.SEDANG)
    second, events = log.report("Perkelahian antar pendukung di TPS 03, satu orang luka", 12, Category.VIOLENCE,
                                Severity.KRITIS)
    assert log.incident_of(first) == log.incident_of(second)
    assert types(events)[:3] == ["IncidentReportAdded", "IncidentReclassified", "IncidentSeverityChanged"]
    added = events[0]
    assert isinstance(added, IncidentReportAdded) and "same TPS 3" in added.payload.reason
    incident = log.area.incidents[log.incident_of(first)]
    assert (incident.category, incident.severity, len(incident.reports)) == (Category.VIOLENCE, Severity.KRITIS, 2)
    assert incident.escalated is Severity.KRITIS


def test_separate_happenings_stay_apart() -> None:
    """One kind in two villages of one kecamatan; two events at one TPS hours apart."""
    log = Log()
    a, _ = log.report("Bagi amplop 100rb malam ini", 0, Category.MONEY_POLITICS, Severity.TINGGI, VILLAGE_A)
    b, _ = log.report("Bagi amplop 100rb malam ini", 10, Category.MONEY_POLITICS, Severity.TINGGI, VILLAGE_B)
    c, _ = log.report("Surat suara kurang di TPS 03", 60, Category.LOGISTICS, Severity.TINGGI, VILLAGE_B)
    later, _ = log.report("Saksi protes hitungan di TPS 03", 11 * 60, Category.LOGISTICS, Severity.SEDANG, VILLAGE_B)
    assert len({log.incident_of(r) for r in (a, b, c, later)}) == 4


def test_a_person_s_decision_is_never_overridden_by_automation() -> None:
    log = Log()
    first, _ = log.report("Adu mulut pendukung di TPS 03", 0, Category.SOCIAL_FRICTION, Severity.SEDANG)
    incident_id = log.incident_of(first)
    log.command(incident_id, d.Verify(note="dicek ke lokasi"), 5)
    _, events = log.report("Perkelahian di TPS 03, satu luka", 10, Category.VIOLENCE, Severity.KRITIS)
    assert types(events)[0] == "IncidentReportAdded"
    assert not any(isinstance(e, IncidentReclassified) for e in events)
    incident = log.area.incidents[incident_id]
    assert (incident.category, incident.severity, incident.verified) == (Category.SOCIAL_FRICTION, Severity.SEDANG,
                                                                         True)


def test_officers_close_reopen_merge_and_split() -> None:
    log = Log()
    a, _ = log.report("Bagi sembako paslon di desa A", 0, Category.MONEY_POLITICS, Severity.SEDANG, VILLAGE_A)
    b, _ = log.report("Ada pembagian beras dari timses", 5, Category.MONEY_POLITICS, Severity.SEDANG, VILLAGE_B)
    first, second = log.incident_of(a), log.incident_of(b)
    assert first != second
    merged = log.command(first, d.Merge(second, "satu kejadian"), 10)
    assert types(merged)[0] == "IncidentMerged"
    assert log.area.incidents[second].status == "merged" and log.incident_of(b) == first
    with pytest.raises(d.Refused) as refused:
        log.command(second, d.Note("x"), 11)
    assert refused.value.status == 409
    split = log.command(first, d.Split((b.payload.report_id,)), 12)
    [new] = [e.payload.new_incident_id for e in split if e.event_type == "IncidentSplit"]  # type: ignore[attr-defined]
    assert log.incident_of(b) == new and len(log.area.incidents[first].reports) == 1
    log.command(first, d.Close(ClosingReason.NOT_PROVEN, "hoaks"), 20)
    assert log.area.incidents[first].status == "closed"
    with pytest.raises(d.Refused):
        log.command(first, d.Verify(), 21)
    c, _ = log.report("Bagi sembako paslon di desa A lagi", 25, Category.MONEY_POLITICS, Severity.SEDANG, VILLAGE_A)
    assert log.incident_of(c) not in (first, new)  # a closed incident is never joined
    log.command(first, d.Reopen("ada bukti baru"), 30)
    assert log.area.incidents[first].is_open


def test_agencies_progress_and_missed_deadlines_remind_the_desk_once() -> None:
    log = Log()
    report, _ = log.report("Kades ancam coret BLT warga yang tidak pilih 01", 0,
                           Category.VILLAGE_OFFICIAL_NEUTRALITY, Severity.TINGGI)
    incident_id = log.incident_of(report)
    log.command(incident_id, d.RecordProgress(AgencyKind.BAWASLU.value, Stage.ACKNOWLEDGED), 10,
                Actor.agency("bawaslu"))
    with pytest.raises(d.Refused):
        log.command(incident_id, d.RecordProgress("kpu", Stage.ACKNOWLEDGED), 11, Actor.agency("kpu"))
    cause = (uuid.uuid4(), Actor.service("triage"))
    late = d.at_time(log.area, T0 + timedelta(minutes=61), DESK_POLICY, cause)
    overdue = {(e.payload.agency, e.payload.stage) for e in late if isinstance(e, IncidentAssignmentOverdue)}
    assigned = set(log.area.incidents[incident_id].assignments)
    assert overdue == {(agency, Stage.ACKNOWLEDGED) for agency in assigned - {"bawaslu"}}
    assert all(e.occurred_at == T0 + timedelta(minutes=60) for e in late if isinstance(e, IncidentAssignmentOverdue))
    log.append(late)
    again = d.at_time(log.area, T0 + timedelta(minutes=62), DESK_POLICY, cause)
    assert not any(isinstance(e, IncidentAssignmentOverdue) for e in again)  # each deadline reminds once


def test_levels_decay_and_fall_when_incidents_close() -> None:
    log = Log()
    report, _ = log.report("Bentrok antar pendukung, dua luka", 0, Category.VIOLENCE, Severity.KRITIS)
    assert log.area.level is AlertLevel.SIAGA
    fall = next_fall(log.area, T0)
    assert fall is not None and assess(log.area, fall).level is AlertLevel.WASPADA
    assert assess(log.area, fall - timedelta(seconds=2)).level is AlertLevel.SIAGA
    closed = log.command(log.incident_of(report), d.Close(ClosingReason.RESOLVED), 30)
    [level] = [e for e in closed if isinstance(e, AreaAlertLevelChanged)]
    assert level.payload.level is AlertLevel.AMAN and level.payload.liaisons == ()  # a fall alerts nobody


def test_a_merge_across_kecamatan_is_refused() -> None:
    log = Log()
    report, _ = log.report("Kotak suara rusak", 0, Category.LOGISTICS, Severity.SEDANG)
    with pytest.raises(d.Refused) as refused:
        log.command(log.incident_of(report), d.Merge(uuid.uuid4()), 1)
    assert "one kecamatan" in str(refused.value)


KINDS = [(Category.MONEY_POLITICS, Severity.TINGGI), (Category.SOCIAL_FRICTION, Severity.SEDANG),
         (Category.VIOLENCE, Severity.KRITIS), (Category.LOGISTICS, Severity.SEDANG), (Category.OTHER, Severity.RENDAH)]
TEXTS = ["Bagi amplop di TPS 03", "Adu mulut pendukung di TPS 05", "Bentrok dua luka di TPS 03",
         "Kotak suara basah", "Situasi sudah kondusif"]
streams = st.lists(st.tuples(st.integers(0, 4), st.sampled_from([VILLAGE_A, VILLAGE_B, None]),
                             st.integers(0, 240)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams)
def test_replaying_the_log_gives_the_same_incidents_levels_and_assignments(stream: list[tuple[int, str | None,
                                                                                          int]]) -> None:
    """Deciding a stream of reports twice gives the same events, and folding the stored events
    again (a replay, a new replica) gives the same book."""
    def run() -> Log:
        log = Log()
        minutes = 0
        for index, (kind, village, gap) in enumerate(stream):
            minutes += gap
            category, severity = KINDS[kind]
            event = submitted(TEXTS[kind], minutes, village, key=f"r{index}")
            entry = d.report_entry(event, category, severity, TEXTS[kind])
            log.append(d.on_report(log.area, event, entry, DESK_POLICY))
        return log

    first, second = run(), run()
    assert [e.model_dump(exclude={"recorded_at"}) for e in first.events] == [
        e.model_dump(exclude={"recorded_at"}) for e in second.events]
    replayed = Book()
    for seq, event in enumerate(first.events, 1):
        replayed = fold(replayed, event, seq)
    assert replayed == first.book
    area = replayed.area(KEC)
    assert sorted(area.placed) == sorted(derived_id(f"r{i}", "report") for i in range(len(stream)))
    opened = [e for e in first.events if isinstance(e, IncidentOpened)]
    assert len(area.incidents) == len(opened)
    assert all(isinstance(e, IncidentAssigned) or e.payload.kecamatan_code == KEC for e in first.events)
