"""No floods, as pure functions: non-critical escalations close together reach a liaison as one
digest, a liaison's alerts are limited per window, and kritis is never held back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from desk_notify.escalation.chains import Chains, evolve, start
from desk_notify.escalation.floods import FloodRules, digests, hold
from desk_notify.escalation.policy import load_policy
from desk_notify.fanout import chain_alerts
from desk_notify.message import digest_text
from desk_shared.contracts.alerts import AlertHeld, AlertRequested
from desk_shared.contracts.envelope import Actor, Event
from desk_shared.contracts.incidents import AlertLevel, IncidentEscalated, IncidentEscalatedPayload
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity

T0 = datetime(2027, 2, 14, 3, 0, tzinfo=UTC)
POLICY = load_policy(regions())
RULES = FloodRules(group_seconds=120, window_seconds=600, limit=10)


def escalation(severity: Severity, kecamatan: str, at: datetime) -> IncidentEscalated:
    return IncidentEscalated(
        event_id=uuid.uuid4(), occurred_at=at, recorded_at=at, correlation_id=uuid.uuid4(), producer="triage",
        actor=Actor.service("triage"), payload=IncidentEscalatedPayload(
            incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code=kecamatan, category=Category.VIOLENCE,
            severity=severity, summary=f"Keributan di {kecamatan}.", liaisons=()))


def escalate(chains: Chains, severity: Severity, kecamatan: str, at: datetime) -> tuple[Chains, list[Event]]:
    """A chain started and its first alerts, as notify appends them."""
    started = start(escalation(severity, kecamatan, at), POLICY, AlertLevel.AMAN, "notify")
    events = [*hold(chains.loads, chain_alerts(started, started.payload, regions(), "notify"), RULES), started]
    for event in events:
        chains = evolve(chains, event)
    return chains, events


def to(liaison: str, events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events if isinstance(e, AlertRequested | AlertHeld)
            and e.payload.liaison.id == liaison]


def text(held: list) -> str:
    return digest_text(held, regions())


def test_non_critical_escalations_in_one_kecamatan_within_minutes_become_one_digest() -> None:
    chains, first = escalate(Chains(), Severity.TINGGI, "11.13.01", T0)
    chains, second = escalate(chains, Severity.TINGGI, "11.13.01", T0 + timedelta(seconds=40))
    chains, third = escalate(chains, Severity.TINGGI, "11.13.01", T0 + timedelta(seconds=90))
    assert to("polsek:11.13.01", first) == ["AlertRequested"]
    assert to("polsek:11.13.01", second) == to("polsek:11.13.01", third) == ["AlertHeld"]
    held = [e for e in second + third if isinstance(e, AlertHeld) and e.payload.liaison.id == "polsek:11.13.01"]
    assert {e.payload.release_at for e in held} == {T0 + timedelta(seconds=160)}
    assert {e.payload.reason for e in held} == {"grouped"}

    assert digests(chains.loads, T0 + timedelta(seconds=159), "notify", text) == []
    due = digests(chains.loads, T0 + timedelta(seconds=160), "notify", text)
    assert sorted(d.payload.liaison.id for d in due) == ["koramil:11.13.01", "polsek:11.13.01"]
    polsek = next(d for d in due if d.payload.liaison.id == "polsek:11.13.01")
    assert [g.alert_id for g in polsek.payload.grouped] == [e.payload.alert_id for e in held]
    assert polsek.payload.message.startswith("RINGKASAN: 2 peringatan untuk Polsek Blangkejeren")
    assert polsek.occurred_at == T0 + timedelta(seconds=160)
    assert digests(chains.loads, T0 + timedelta(seconds=160), "notify", text)[0].event_id == due[0].event_id
    for digest in due:
        chains = evolve(chains, digest)
    assert digests(chains.loads, T0 + timedelta(hours=1), "notify", text) == []


def test_kritis_is_never_held_and_another_kecamatan_is_not_grouped() -> None:
    chains, _ = escalate(Chains(), Severity.TINGGI, "11.13.01", T0)
    chains, kritis = escalate(chains, Severity.KRITIS, "11.13.01", T0 + timedelta(seconds=10))
    assert to("polsek:11.13.01", kritis) == ["AlertRequested"]
    _, elsewhere = escalate(chains, Severity.TINGGI, "11.13.02", T0 + timedelta(seconds=20))
    assert to("polsek:11.13.02", elsewhere) == ["AlertRequested"]


def as_desk(alerts: list[AlertRequested]) -> list[AlertRequested]:
    """The same alerts to one liaison serving every kecamatan (the regency's desk)."""
    return [AlertRequested.model_validate({**a.model_dump(), "payload": {
        **a.payload.model_dump(), "liaison": {"id": "desk:11.13", "agency": "desk", "unit": "Desk"}}}) for a in alerts]


def test_the_flood_limit_holds_what_exceeds_it_but_never_kritis() -> None:
    rules = FloodRules(group_seconds=0, window_seconds=600, limit=3)
    started = [start(escalation(Severity.TINGGI, f"11.13.0{n + 1}", T0 + timedelta(seconds=n)), POLICY,
                     AlertLevel.AMAN, "notify") for n in range(5)]
    chains = Chains()
    kinds = []
    for event in started:
        for out in hold(chains.loads, as_desk(chain_alerts(event, event.payload, regions(), "notify")[:1]), rules):
            chains = evolve(chains, out)
            kinds.append((type(out).__name__, getattr(out.payload, "reason", None)))
    assert kinds == [("AlertRequested", None)] * 3 + [("AlertHeld", "flood_limit"), ("AlertHeld", "grouped")]
    kritis = start(escalation(Severity.KRITIS, "11.13.07", T0 + timedelta(seconds=9)), POLICY, AlertLevel.AMAN,
                   "notify")
    alerts = as_desk(chain_alerts(kritis, kritis.payload, regions(), "notify")[:1])
    assert [type(e).__name__ for e in hold(chains.loads, alerts, rules)] == ["AlertRequested"]
