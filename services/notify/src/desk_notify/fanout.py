"""An escalation (or a kecamatan's rise to siaga or awas) becomes one AlertRequested per liaison
(pure): each alert then lives, is retried and ends on its own, so one liaison's slow or dead
channel never holds another's."""

from __future__ import annotations

import uuid
from datetime import datetime

from desk_notify.message import (
    alert_text,
    exhausted_text,
    level_text,
    overdue_text,
    reminder_text,
    step_text,
    undelivered_text,
)
from desk_shared.contracts.escalation import (
    EscalationExhausted,
    EscalationReminded,
    EscalationStarted,
    EscalationStartedPayload,
    EscalationStepReached,
)
from desk_shared.contracts.events import AlertRequested, AlertRequestedPayload, Event, Liaison, derived_id
from desk_shared.contracts.incidents import AreaAlertLevelChanged, IncidentAssignmentOverdue
from desk_shared.contracts.regions import RegionDirectory


def alert_id(cause: Event, liaison_id: str) -> uuid.UUID:
    """The alert's id, also the Idempotency-Key its receiver sees on every attempt."""
    return derived_id(cause.event_id, f"alert:{liaison_id}")


ChainEvent = EscalationStarted | EscalationStepReached | EscalationReminded | EscalationExhausted


def chain_alerts(event: ChainEvent, chain: EscalationStartedPayload, directory: RegionDirectory,
                 producer: str) -> list[AlertRequested]:
    """The alerts of a chain's event: its recipients, told what the chain has come to."""
    incident = chain.escalation
    match event:
        case EscalationStarted():
            recipients, message = chain.steps[0].recipients, alert_text(incident, directory)
        case EscalationStepReached(payload=p):
            recipients, message = p.recipients, step_text(incident, directory, _minutes(event, p.unanswered_since))
        case EscalationExhausted(payload=p):
            recipients = p.recipients
            message = exhausted_text(incident, directory, _minutes(event, p.unanswered_since))
        case EscalationReminded(payload=p):
            recipients, message = p.recipients, reminder_text(incident, directory, p.acknowledged_by)
    return [AlertRequested.caused_by(event, producer, AlertRequestedPayload(
        alert_id=alert_id(event, liaison.id), incident_id=incident.incident_id, liaison=liaison, message=message,
        incident=incident, chain_id=chain.chain_id), what=f"AlertRequested:{liaison.id}") for liaison in recipients]


def _minutes(event: Event, since: datetime) -> int:
    return max(1, round((event.occurred_at - since).total_seconds() / 60))


def level_alert_requests(change: AreaAlertLevelChanged, directory: RegionDirectory,
                         producer: str) -> list[AlertRequested]:
    """A kecamatan's level rose to siaga or awas: one alert per liaison the change names."""
    area = change.payload
    message = level_text(area, directory)
    return [AlertRequested.caused_by(change, producer, AlertRequestedPayload(
        alert_id=alert_id(change, liaison.id), incident_id=None, liaison=liaison, message=message, area=area),
        what=f"AlertRequested:{liaison.id}") for liaison in area.liaisons]


def overdue_alert_requests(overdue: IncidentAssignmentOverdue, directory: RegionDirectory,
                           producer: str) -> list[AlertRequested]:
    """An assigned agency missed a deadline: the desk is reminded."""
    p = overdue.payload
    message = overdue_text(p, directory)
    return [AlertRequested.caused_by(overdue, producer, AlertRequestedPayload(
        alert_id=alert_id(overdue, liaison.id), incident_id=p.incident_id, liaison=liaison, message=message,
        overdue=p), what=f"AlertRequested:{liaison.id}") for liaison in p.liaisons]


def undelivered_alerts(request: AlertRequested, reason: str, desk: tuple[Liaison, ...],
                       producer: str) -> list[AlertRequested]:
    """An alert that could not be delivered is told to the desk (never silent), unless it was the
    desk's own: that one shows on the board only."""
    alert = request.payload
    if alert.liaison.id in {d.id for d in desk}:
        return []
    message = undelivered_text(alert, reason)
    return [AlertRequested.caused_by(request, producer, alert.model_copy(update={
        "alert_id": alert_id(request, liaison.id), "liaison": liaison, "message": message, "chain_id": None,
        "undelivered": alert.alert_id}), what=f"AlertRequested:{liaison.id}") for liaison in desk]
