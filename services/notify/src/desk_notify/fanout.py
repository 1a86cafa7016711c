"""An escalation becomes one AlertRequested per liaison (pure): each alert then lives, is
retried and ends on its own, so one liaison's slow or dead channel never holds another's."""

from __future__ import annotations

import uuid

from desk_notify.message import alert_text
from desk_shared.contracts.events import AlertRequested, AlertRequestedPayload, IncidentEscalated, derived_id
from desk_shared.contracts.regions import RegionDirectory


def alert_id(escalation: IncidentEscalated, liaison_id: str) -> uuid.UUID:
    """The alert's id, also the Idempotency-Key its receiver sees on every attempt."""
    return derived_id(escalation.event_id, f"alert:{liaison_id}")


def alert_requests(escalation: IncidentEscalated, directory: RegionDirectory, producer: str) -> list[AlertRequested]:
    incident = escalation.payload
    message = alert_text(incident, directory)
    return [AlertRequested.caused_by(escalation, producer, AlertRequestedPayload(
        alert_id=alert_id(escalation, liaison.id), incident_id=incident.incident_id, liaison=liaison,
        message=message, incident=incident), what=f"AlertRequested:{liaison.id}")
        for liaison in incident.liaisons]
