"""Escalation chains as pure functions: steps on their deadlines, acknowledgement, reminders,
closing, restarts by a later escalation, the policy in force at the start, and replay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk_notify.escalation.chains import Chains, NoChain, acknowledge, due, evolve, start
from desk_notify.escalation.policy import load_policy
from desk_shared.contracts.envelope import Actor, Event
from desk_shared.contracts.escalation import (
    AlertAcknowledged,
    EscalationExhausted,
    EscalationReminded,
    EscalationStarted,
    EscalationStepReached,
)
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    AreaAlertLevelChangedPayload,
    ClosingReason,
    IncidentClosed,
    IncidentClosedPayload,
    IncidentEscalated,
    IncidentEscalatedPayload,
)
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity

T0 = datetime(2027, 2, 14, 3, 0, tzinfo=UTC)
KEC = "11.13.01"
POLICY = load_policy(regions())
LIAISON = Actor(kind="person", id="p-kapolsek")


def escalated(severity: Severity = Severity.KRITIS, at: datetime = T0, incident: uuid.UUID | None = None,
              event_id: uuid.UUID | None = None) -> IncidentEscalated:
    return IncidentEscalated(
        event_id=event_id or uuid.uuid4(), occurred_at=at, recorded_at=at, correlation_id=uuid.uuid4(),
        producer="triage", actor=Actor.service("triage"), payload=IncidentEscalatedPayload(
            incident_id=incident or uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code=KEC,
            category=Category.VIOLENCE, severity=severity, summary="Bentrok di TPS 03.", liaisons=()))


def run(chains: Chains, until: datetime, step: timedelta = timedelta(seconds=30)) -> tuple[Chains, list[Event]]:
    """Tick from T0 to `until`, folding what each tick makes due (as the watcher does)."""
    appended: list[Event] = []
    now = T0
    while now <= until:
        while events := due(chains, now, "notify"):
            for event in events:
                chains = evolve(chains, event)
            appended += events
        now += step
    return chains, appended


def started(severity: Severity = Severity.KRITIS, level: AlertLevel = AlertLevel.AMAN
            ) -> tuple[Chains, EscalationStarted]:
    event = start(escalated(severity), POLICY, level, "notify")
    return evolve(Chains(), event), event


def test_kritis_starts_with_polsek_and_koramil_then_the_regency_then_the_desk_every_five_minutes() -> None:
    chains, first = started()
    assert first.payload.rule == "kritis" and first.payload.policy_version == POLICY.version
    assert [r.id for r in first.payload.steps[0].recipients] == ["polsek:11.13.01", "koramil:11.13.01"]
    assert first.payload.steps[0].recipients[0].unit == "Polsek Blangkejeren"
    chains, events = run(chains, T0 + timedelta(minutes=14))
    assert [(type(e), e.occurred_at - T0) for e in events] == [
        (EscalationStepReached, timedelta(minutes=5)), (EscalationStepReached, timedelta(minutes=10))]
    assert [r.id for r in events[0].payload.recipients] == ["polres:11.13", "kodim:11.13"]
    assert events[0].payload.recipients[0].unit == "Polres Gayo Lues"
    assert [r.id for r in events[1].payload.recipients] == ["desk:11.13"]


def test_nobody_answering_runs_the_rounds_then_tells_the_desk_once() -> None:
    chains, _ = started()
    chains, events = run(chains, T0 + timedelta(hours=3))
    assert [type(e).__name__ for e in events] == ["EscalationStepReached"] * 5 + ["EscalationExhausted"]
    assert events[-1].occurred_at == T0 + timedelta(minutes=30)
    assert [(e.payload.round, e.payload.step) for e in events[:-1]] == [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [r.id for r in events[-1].payload.recipients] == ["desk:11.13"]
    assert due(chains, T0 + timedelta(days=2), "notify") == []


def test_an_acknowledgement_stops_the_chain_and_reminds_while_the_incident_stays_open() -> None:
    chains, first = started()
    chains, _ = run(chains, T0 + timedelta(minutes=6))
    ack = acknowledge(chains, first.payload.incident_id, "polres:11.13", "api", LIAISON, "notify",
                      T0 + timedelta(minutes=7), person_id="p-kapolsek")
    assert isinstance(ack, AlertAcknowledged) and ack.actor == LIAISON
    chains = evolve(chains, ack)
    again = acknowledge(chains, first.payload.incident_id, "polsek:11.13.01", "link", LIAISON, "notify",
                        T0 + timedelta(minutes=8))
    assert again == ack.payload  # only the first counts
    chains, events = run(chains, T0 + timedelta(hours=12))
    assert all(isinstance(e, EscalationReminded) for e in events) and len(events) == 6
    assert [e.occurred_at - T0 for e in events[:2]] == [timedelta(minutes=67), timedelta(minutes=127)]
    assert [r.id for r in events[0].payload.recipients] == ["polres:11.13"]


def test_closing_the_incident_resolves_its_chain() -> None:
    chains, first = started()
    p = first.payload
    closed = IncidentClosed(event_id=uuid.uuid4(), occurred_at=T0 + timedelta(minutes=2), recorded_at=T0,
                            correlation_id=uuid.uuid4(), producer="triage", actor=LIAISON,
                            payload=IncidentClosedPayload(incident_id=p.incident_id, kecamatan_code=KEC,
                                                          reason=next(iter(ClosingReason))))
    chains = evolve(chains, closed)
    assert run(chains, T0 + timedelta(hours=2))[1] == []
    with pytest.raises(NoChain):
        acknowledge(chains, p.incident_id, "polsek:11.13.01", "api", LIAISON, "notify", T0)
    assert evolve(chains, first).by_incident == chains.by_incident  # a chain started after the close does nothing


def test_a_later_escalation_of_the_incident_restarts_its_chain() -> None:
    chains, first = started(Severity.TINGGI)
    chains, events = run(chains, T0 + timedelta(minutes=16))
    assert len(events) == 1 and events[0].occurred_at == T0 + timedelta(minutes=15)
    worse = start(escalated(Severity.KRITIS, T0 + timedelta(minutes=17), first.payload.incident_id), POLICY,
                  AlertLevel.AMAN, "notify")
    chains = evolve(chains, worse)
    old = EscalationStepReached.model_validate({**events[0].model_dump(), "event_id": uuid.uuid4()})
    assert evolve(chains, old) == chains  # the old chain's steps no longer count
    chains, events = run(chains, T0 + timedelta(minutes=23))
    assert [e.occurred_at - T0 for e in events] == [timedelta(minutes=22)]
    assert events[0].payload.chain_id == worse.payload.chain_id


def test_the_kecamatans_alert_level_chooses_the_rule_and_the_chain_keeps_its_policy(tmp_path: Path) -> None:
    level = AreaAlertLevelChanged(
        event_id=uuid.uuid4(), occurred_at=T0, recorded_at=T0, correlation_id=uuid.uuid4(), producer="triage",
        actor=Actor.service("triage"), payload=AreaAlertLevelChangedPayload(
            kecamatan_code=KEC, level=AlertLevel.SIAGA, previous=AlertLevel.WASPADA, score=6.0, reason="uji"))
    chains = evolve(Chains(), level)
    event = start(escalated(Severity.TINGGI), POLICY, chains.level(KEC), "notify")
    assert event.payload.rule == "tinggi-siaga"
    assert [r.id for r in event.payload.steps[0].recipients] == [
        "polsek:11.13.01", "koramil:11.13.01", "polres:11.13", "kodim:11.13"]
    changed = tmp_path / "policy.toml"
    changed.write_text(POLICY_TEXT)
    later = load_policy(regions(), changed)
    assert later.version != POLICY.version
    chains = evolve(chains, event)
    _, events = run(chains, T0 + timedelta(minutes=11))  # the chain's own 10 minutes, not the new policy's 1
    assert [e.occurred_at - T0 for e in events] == [timedelta(minutes=10)]


POLICY_TEXT = """version = "uji"
[position.desk]
agency = "desk"
area = "regency"
unit = "Desk {regency}"
[[rule]]
name = "semua"
steps = [["desk"]]
ack_within_minutes = 1
remind_after_minutes = 1
exhausted = ["desk"]
"""


def test_a_policy_naming_an_unknown_position_or_without_a_catch_all_rule_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(POLICY_TEXT.replace('steps = [["desk"]]', 'steps = [["kapolda"]]'))
    with pytest.raises(ValueError, match="unknown position"):
        load_policy(regions(), bad)
    bad.write_text(POLICY_TEXT.replace('name = "semua"', 'name = "semua"\nseverities = ["kritis"]'))
    with pytest.raises(ValueError, match="last rule must match everything"):
        load_policy(regions(), bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Severity)[2:]), st.integers(0, 120), st.booleans(),
                          st.integers(0, 200)), min_size=1, max_size=6))
def test_replaying_the_log_gives_the_same_chains_and_events(plan: list[tuple[Severity, int, bool, int]]) -> None:
    """Whenever the ticks come (every 7 s or every 3 minutes), the same events are derived, with
    the same ids and times, and folding the log again gives the same chains."""
    def live(tick: timedelta) -> tuple[Chains, list[Event]]:
        chains, log = Chains(), []
        for n, (severity, minute, _acked, _ack_minute) in enumerate(plan):
            event = start(escalated(severity, T0 + timedelta(minutes=minute), uuid.UUID(int=minute + 1),
                                    uuid.UUID(int=10_000 + n)), POLICY, AlertLevel.AMAN, "notify")
            log.append(event)
        log.sort(key=lambda e: e.occurred_at)
        ack_at = {uuid.UUID(int=m + 1): T0 + timedelta(minutes=m + a) for _, m, acked, a in plan if acked}
        now = T0
        pending = list(log)
        log = []
        while now <= T0 + timedelta(hours=8):
            for event in [e for e in pending if e.occurred_at <= now]:
                pending.remove(event)
                chains = evolve(chains, event)
                log.append(event)
            for incident, at in list(ack_at.items()):
                if at <= now and incident in chains.by_incident:
                    found = acknowledge(chains, incident, "polsek:11.13.01", "api", LIAISON, "notify", at)
                    if isinstance(found, AlertAcknowledged):
                        chains = evolve(chains, found)
                        log.append(found)
                    del ack_at[incident]
            while events := due(chains, now, "notify"):
                for event in events:
                    chains = evolve(chains, event)
                log += events
            now += tick
        return chains, log

    fine, fine_log = live(timedelta(seconds=7))
    _, coarse_log = live(timedelta(minutes=3))
    key = {type(e) for e in fine_log} - {AlertAcknowledged}
    derived = sorted((e.event_id, e.occurred_at) for e in fine_log if type(e) in key)
    assert derived == sorted((e.event_id, e.occurred_at) for e in coarse_log if type(e) in key) or any(
        a for _, _, a, _ in plan)  # acknowledgements land on different ticks: only then may the steps differ
    replayed = Chains()
    for event in fine_log:
        replayed = evolve(replayed, event)
    assert replayed == fine
    assert all(isinstance(e, EscalationStarted | EscalationStepReached | EscalationExhausted | EscalationReminded
                          | AlertAcknowledged) for e in fine_log)
