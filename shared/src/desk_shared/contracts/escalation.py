"""Events of an escalation chain (notify's): who is alerted about an escalated incident, step by
step, until someone acknowledges it or the incident is closed.

A chain starts from an `IncidentEscalated` with the policy in force at that moment, written out
whole (its steps, recipients and deadlines), so the chain runs as it started even if the policy
changes later, and a replay of the log gives the same chain. Each later step happens at its
deadline (event time: the previous step's time plus its wait), never at the wall clock's time
of whichever replica noticed it, so its id and time are the same whoever appends it."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from desk_shared.contracts.envelope import Contract, Event, KecamatanCode
from desk_shared.contracts.incidents import IncidentEscalatedPayload, Liaison
from desk_shared.contracts.taxonomy import Severity


class EscalationStep(Contract):
    recipients: tuple[Liaison, ...] = Field(min_length=1)
    ack_within_seconds: int = Field(gt=0, description="How long this step waits for an acknowledgement.")


class EscalationChainPayload(Contract):
    chain_id: uuid.UUID
    incident_id: uuid.UUID
    kecamatan_code: KecamatanCode


class EscalationStartedPayload(EscalationChainPayload):
    severity: Severity
    policy_version: str
    rule: str = Field(description="The policy rule that chose the steps.", examples=["kritis"])
    steps: tuple[EscalationStep, ...] = Field(min_length=1)
    rounds: int = Field(ge=1, description="How many times the steps run before the chain is exhausted.")
    remind_after_seconds: int = Field(gt=0, description="An acknowledged incident not closed by then is "
                                                        "notified again, as often, up to `reminders` times.")
    reminders: int = Field(ge=0)
    exhausted: tuple[Liaison, ...] = Field(min_length=1, description="Who is told when nobody acknowledged at all.")
    escalation: IncidentEscalatedPayload = Field(description="What was escalated (the alerts' text comes from it).")


class EscalationStarted(Event):
    """An escalated incident's chain began: its first step's recipients are alerted now. A later
    escalation of the same incident (it grew worse) starts a new chain in its place."""

    payload: EscalationStartedPayload


class EscalationStepReachedPayload(EscalationChainPayload):
    step: int = Field(ge=0, description="Index into the chain's steps.")
    round: int = Field(ge=0)
    recipients: tuple[Liaison, ...]
    unanswered_since: AwareDatetime = Field(description="When the chain started: nobody acknowledged since.")


class EscalationStepReached(Event):
    """Nobody acknowledged within the previous step's deadline: the next step's recipients are alerted."""

    payload: EscalationStepReachedPayload


class EscalationRemindedPayload(EscalationChainPayload):
    reminder: int = Field(ge=1)
    recipients: tuple[Liaison, ...]
    acknowledged_by: str


class EscalationReminded(Event):
    """Acknowledged long ago and still not closed: whoever acknowledged it is reminded."""

    payload: EscalationRemindedPayload


class EscalationExhaustedPayload(EscalationChainPayload):
    recipients: tuple[Liaison, ...] = Field(description="Who is told (the regency's desk).")
    unanswered_since: AwareDatetime


class EscalationExhausted(Event):
    """Every step of every round passed without an acknowledgement: the desk itself is alerted."""

    payload: EscalationExhaustedPayload


AckChannel = Literal["link", "api", "bot"]


class AlertAcknowledgedPayload(EscalationChainPayload):
    liaison_id: str = Field(description="Whose alert was acknowledged (the link's recipient, or the person's).")
    via: AckChannel
    person_id: str | None = Field(None, description="The person who acknowledged, when logged in.")


class AlertAcknowledged(Event):
    """Someone took the incident on: the chain stops. Only the first acknowledgement of a chain
    counts (its id is derived from the chain's); later ones are dropped by the log."""

    payload: AlertAcknowledgedPayload


ESCALATION_EVENTS = (EscalationStarted, EscalationStepReached, EscalationReminded, EscalationExhausted,
                     AlertAcknowledged)
