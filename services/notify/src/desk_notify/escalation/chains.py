"""Escalation chains as pure functions: start one from an escalation, fold the log into the chains
(`evolve`), say what the passing of time makes due (`due`), and take an acknowledgement.

Times are event times: a step is reached at the previous step's time plus its wait, so every
replica, a restarted one and a replay derive the same events with the same ids, and JetStream
keeps one of each. The chains are persistent maps: folding one event costs O(log n)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pyrsistent import PMap, PSet, pmap, pset

from desk_notify.escalation.floods import Loads, note
from desk_notify.escalation.policy import Policy
from desk_shared.contracts.alerts import AlertHeld, AlertRequested
from desk_shared.contracts.envelope import Actor, Event, derived_id
from desk_shared.contracts.escalation import (
    AckChannel,
    AlertAcknowledged,
    AlertAcknowledgedPayload,
    EscalationExhausted,
    EscalationExhaustedPayload,
    EscalationReminded,
    EscalationRemindedPayload,
    EscalationStarted,
    EscalationStartedPayload,
    EscalationStepReached,
    EscalationStepReachedPayload,
)
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    IncidentClosed,
    IncidentEscalated,
    IncidentMerged,
    IncidentReopened,
    Liaison,
)


@dataclass(frozen=True)
class Chain:
    started: EscalationStartedPayload
    started_at: datetime
    correlation_id: uuid.UUID
    step: int = 0
    round: int = 0
    step_at: datetime | None = None
    """When the current step's recipients were alerted (None: at the start)."""
    acknowledged: AlertAcknowledgedPayload | None = None
    acknowledged_at: datetime | None = None
    reminders: int = 0
    nudged_at: datetime | None = None
    """The acknowledgement's or the last reminder's time."""
    exhausted: bool = False

    @property
    def chain_id(self) -> uuid.UUID:
        return self.started.chain_id

    @property
    def deadline(self) -> datetime | None:
        """When the next thing happens unless someone acts: the next step, the exhaustion, or a
        reminder (None: nothing is left to happen)."""
        if self.acknowledged is not None:
            if self.reminders >= self.started.reminders or self.nudged_at is None:
                return None
            return self.nudged_at + timedelta(seconds=self.started.remind_after_seconds)
        if self.exhausted:
            return None
        return (self.step_at or self.started_at) + timedelta(seconds=self.started.steps[self.step].ack_within_seconds)


@dataclass(frozen=True)
class Chains:
    by_incident: PMap[uuid.UUID, Chain] = field(default_factory=pmap)
    """Each escalated, still open incident's current chain."""
    closed: PSet[uuid.UUID] = field(default_factory=pset)
    """Incidents closed (a chain appended after its incident closed does nothing)."""
    levels: PMap[str, AlertLevel] = field(default_factory=pmap)
    loads: Loads = field(default_factory=pmap)
    """Each recipient's recent alerts and held ones (`floods`)."""

    def level(self, kecamatan_code: str) -> AlertLevel:
        return self.levels.get(kecamatan_code, AlertLevel.AMAN)


RELEVANT_SUBJECTS = tuple(t.subject for t in (
    EscalationStarted, EscalationStepReached, EscalationReminded, EscalationExhausted, AlertAcknowledged,
    IncidentClosed, IncidentReopened, IncidentMerged, AreaAlertLevelChanged, AlertRequested, AlertHeld))


def relevant(subject: str) -> bool:
    return subject.startswith(RELEVANT_SUBJECTS)


def evolve(chains: Chains, event: Event) -> Chains:
    match event:
        case EscalationStarted(payload=p) if p.incident_id not in chains.closed:
            chain = Chain(started=p, started_at=event.occurred_at, correlation_id=event.correlation_id)
            return replace(chains, by_incident=chains.by_incident.set(p.incident_id, chain))
        case EscalationStepReached(payload=p):
            return _update(chains, p.incident_id, p.chain_id,
                           lambda c: replace(c, step=p.step, round=p.round, step_at=event.occurred_at))
        case EscalationExhausted(payload=p):
            return _update(chains, p.incident_id, p.chain_id, lambda c: replace(c, exhausted=True))
        case AlertAcknowledged(payload=p):
            return _update(chains, p.incident_id, p.chain_id, lambda c: c if c.acknowledged else replace(
                c, acknowledged=p, acknowledged_at=event.occurred_at, nudged_at=event.occurred_at))
        case EscalationReminded(payload=p):
            return _update(chains, p.incident_id, p.chain_id,
                           lambda c: replace(c, reminders=p.reminder, nudged_at=event.occurred_at))
        case IncidentClosed(payload=p):
            return _close(chains, p.incident_id)
        case IncidentMerged(payload=p):
            return _close(chains, p.merged_incident_id)
        case IncidentReopened(payload=p):
            return replace(chains, closed=chains.closed.discard(p.incident_id))
        case AreaAlertLevelChanged(payload=p):
            return replace(chains, levels=chains.levels.set(p.kecamatan_code, p.level))
        case AlertRequested() | AlertHeld():
            return replace(chains, loads=note(chains.loads, event))
    return chains


def _update(chains: Chains, incident_id: uuid.UUID, chain_id: uuid.UUID,
            change: Callable[[Chain], Chain]) -> Chains:
    chain = chains.by_incident.get(incident_id)
    if chain is None or chain.chain_id != chain_id:  # an older chain of the incident, or a closed one
        return chains
    return replace(chains, by_incident=chains.by_incident.set(incident_id, change(chain)))


def _close(chains: Chains, incident_id: uuid.UUID) -> Chains:
    return replace(chains, by_incident=chains.by_incident.discard(incident_id), closed=chains.closed.add(incident_id))


def start(escalated: IncidentEscalated, policy: Policy, level: AlertLevel, producer: str) -> EscalationStarted:
    """The chain of an escalation, with the policy in force now written out whole."""
    p = escalated.payload
    rule = policy.rule_for(p.severity, level)
    payload = EscalationStartedPayload(
        chain_id=derived_id(escalated.event_id, EscalationStarted.event_type), incident_id=p.incident_id,
        kecamatan_code=p.kecamatan_code, severity=p.severity, policy_version=policy.version, rule=rule.name,
        steps=policy.steps(rule, p.kecamatan_code), rounds=rule.rounds,
        remind_after_seconds=max(1, round(rule.remind_after_minutes * 60)), reminders=rule.reminders,
        exhausted=policy.liaisons(rule.exhausted, p.kecamatan_code), escalation=p)
    return EscalationStarted.caused_by(escalated, producer, payload)


def due(chains: Chains, now: datetime, producer: str) -> list[Event]:
    """What has become due by `now`, one event per chain (the next is due once it is folded)."""
    return [event for chain in chains.by_incident.values()
            if (deadline := chain.deadline) is not None and deadline <= now
            for event in (_next(chain, deadline, now, producer),)]


def _next(chain: Chain, at: datetime, now: datetime, producer: str) -> Event:
    s = chain.started
    base = {"chain_id": s.chain_id, "incident_id": s.incident_id, "kecamatan_code": s.kecamatan_code}
    if chain.acknowledged is not None:
        n = chain.reminders + 1
        return _derived(EscalationReminded, chain, f"reminder:{n}", at, now, producer, EscalationRemindedPayload(
            **base, reminder=n, recipients=_acknowledger(chain), acknowledged_by=chain.acknowledged.liaison_id))
    step, rnd = chain.step + 1, chain.round
    if step >= len(s.steps):
        step, rnd = 0, rnd + 1
    if rnd >= s.rounds:
        return _derived(EscalationExhausted, chain, "exhausted", at, now, producer, EscalationExhaustedPayload(
            **base, recipients=s.exhausted, unanswered_since=chain.started_at))
    return _derived(EscalationStepReached, chain, f"step:{rnd}:{step}", at, now, producer,
                    EscalationStepReachedPayload(**base, step=step, round=rnd, recipients=s.steps[step].recipients,
                                                 unanswered_since=chain.started_at))


def _acknowledger(chain: Chain) -> tuple[Liaison, ...]:
    """Whose acknowledgement is reminded: that liaison among the chain's recipients (else the first step's)."""
    s, ack = chain.started, chain.acknowledged
    everyone = [*(r for step in s.steps for r in step.recipients), *s.exhausted]
    found = next((r for r in everyone if ack is not None and r.id == ack.liaison_id), None)
    return (found,) if found else s.steps[0].recipients


def _derived(cls: type[Event], chain: Chain, what: str, at: datetime, now: datetime, producer: str,
             payload: object) -> Event:
    return cls(event_id=derived_id(chain.chain_id, what), occurred_at=at, recorded_at=now,
               correlation_id=chain.correlation_id, causation_id=chain.chain_id, producer=producer,
               actor=Actor.service(producer), payload=payload)


class NoChain(LookupError):
    """The incident has no escalation running (never escalated, or closed)."""


def acknowledge(chains: Chains, incident_id: uuid.UUID, liaison_id: str, via: AckChannel, actor: Actor,
                producer: str, now: datetime, person_id: str | None = None,
                chain_id: uuid.UUID | None = None) -> AlertAcknowledged | AlertAcknowledgedPayload:
    """The acknowledgement to append, or the one the chain already has (only the first counts).
    `chain_id`: the chain a link was for; a link of an older chain acknowledges the current one."""
    chain = chains.by_incident.get(incident_id)
    if chain is None:
        raise NoChain(f"incident {incident_id} has no escalation running")
    if chain.acknowledged is not None:
        return chain.acknowledged
    s = chain.started
    return AlertAcknowledged(
        event_id=derived_id(s.chain_id, "acknowledged"), occurred_at=now, recorded_at=now,
        correlation_id=chain.correlation_id, causation_id=chain_id or s.chain_id, producer=producer, actor=actor,
        payload=AlertAcknowledgedPayload(chain_id=s.chain_id, incident_id=incident_id,
                                         kecamatan_code=s.kecamatan_code, liaison_id=liaison_id, via=via,
                                         person_id=person_id))
