"""Alert ids and outcome events, derived from the escalation so a redelivery repeats them."""

from __future__ import annotations

import uuid
from datetime import datetime

from desk_notify.webhook import Delivery
from desk_shared.events import (
    AlertDelivered,
    AlertDeliveredPayload,
    AlertFailed,
    AlertFailedPayload,
    Event,
    IncidentEscalated,
    derived_id,
    utc_now,
)


def alert_id(escalation: IncidentEscalated, liaison_id: str) -> uuid.UUID:
    return derived_id(escalation.event_id, f"alert:{liaison_id}")


def outcome_id(escalation: IncidentEscalated, liaison_id: str) -> uuid.UUID:
    """One id per liaison whichever way the alert ended, so an alert never has two outcomes."""
    return derived_id(escalation.event_id, f"alert-outcome:{liaison_id}")


def outcome_event(escalation: IncidentEscalated, liaison_id: str, delivery: Delivery, producer: str,
                  now: datetime | None = None) -> Event:
    at = now or utc_now()
    envelope = {"event_id": outcome_id(escalation, liaison_id), "occurred_at": at, "recorded_at": at,
                "correlation_id": escalation.correlation_id, "causation_id": escalation.event_id,
                "producer": producer}
    common = {"alert_id": alert_id(escalation, liaison_id), "incident_id": escalation.payload.incident_id,
              "liaison_id": liaison_id, "channel": "webhook", "attempts": delivery.attempts}
    if delivery.delivered and delivery.status_code is not None:
        return AlertDelivered(**envelope, payload=AlertDeliveredPayload(**common, status_code=delivery.status_code))
    return AlertFailed(**envelope, payload=AlertFailedPayload(**common, reason=delivery.reason or "unknown"))
