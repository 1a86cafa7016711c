"""How an alert ended, as the event notify records (one id per alert, whichever way it ended).

Unlike decisions, an outcome happens in the outside world: its time is when the liaison's
channel answered, not the time of its cause."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from desk_shared.contracts.contacts import ChannelKind
from desk_shared.contracts.events import (
    AlertDelivered,
    AlertDeliveredPayload,
    AlertFailed,
    AlertFailedPayload,
    AlertRequested,
    Event,
    derived_id,
    utc_now,
)


def delivered(request: AlertRequested, attempts: int, status_code: int | None, producer: str,
              at: datetime | None = None, *, channel: ChannelKind = "webhook", contact_id: str | None = None,
              unconfirmed: bool = False) -> Event:
    return AlertDelivered(**_envelope(request, producer, at), payload=AlertDeliveredPayload(
        **_common(request, attempts), channel=channel, contact_id=contact_id, status_code=status_code,
        unconfirmed=unconfirmed))


def failed(request: AlertRequested, attempts: int, reason: str, producer: str, at: datetime | None = None, *,
           channel: ChannelKind | Literal["none"] = "none", contact_id: str | None = None) -> Event:
    return AlertFailed(**_envelope(request, producer, at), payload=AlertFailedPayload(
        **_common(request, attempts), channel=channel, contact_id=contact_id, reason=reason))


def _envelope(request: AlertRequested, producer: str, at: datetime | None) -> dict[str, object]:
    at = at or utc_now()
    return {"event_id": derived_id(request.event_id, "alert-outcome"), "occurred_at": at, "recorded_at": at,
            "correlation_id": request.correlation_id, "causation_id": request.event_id, "producer": producer,
            "actor": {"kind": "service", "id": producer}}


def _common(request: AlertRequested, attempts: int) -> dict[str, object]:
    p = request.payload
    return {"alert_id": p.alert_id, "incident_id": p.incident_id, "liaison_id": p.liaison.id, "attempts": attempts}
