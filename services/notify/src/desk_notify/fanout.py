"""An escalation (or a kecamatan's rise to siaga or awas) becomes one AlertRequested per liaison
(pure): each alert then lives, is retried and ends on its own, so one liaison's slow or dead
channel never holds another's."""

from __future__ import annotations

import uuid

from desk_notify.message import alert_text, level_text, overdue_text
from desk_shared.contracts.events import AlertRequested, AlertRequestedPayload, Event, IncidentEscalated, derived_id
from desk_shared.contracts.incidents import AreaAlertLevelChanged, IncidentAssignmentOverdue
from desk_shared.contracts.regions import RegionDirectory


def alert_id(cause: Event, liaison_id: str) -> uuid.UUID:
    """The alert's id, also the Idempotency-Key its receiver sees on every attempt."""
    return derived_id(cause.event_id, f"alert:{liaison_id}")


def alert_requests(escalation: IncidentEscalated, directory: RegionDirectory, producer: str) -> list[AlertRequested]:
    incident = escalation.payload
    message = alert_text(incident, directory)
    return [AlertRequested.caused_by(escalation, producer, AlertRequestedPayload(
        alert_id=alert_id(escalation, liaison.id), incident_id=incident.incident_id, liaison=liaison,
        message=message, incident=incident), what=f"AlertRequested:{liaison.id}")
        for liaison in incident.liaisons]


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
