"""Events about alerts to liaisons: each alert notify will send, and how its delivery ended."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from desk_shared.contracts.contacts import ChannelKind
from desk_shared.contracts.envelope import Contract, Event
from desk_shared.contracts.incidents import (
    AreaAlertLevelChangedPayload,
    IncidentAssignmentOverduePayload,
    IncidentEscalatedPayload,
    Liaison,
)


class AlertOutcomePayload(Contract):
    alert_id: uuid.UUID
    incident_id: uuid.UUID | None = Field(description="None for an alert about a kecamatan's alert level.")
    liaison_id: str
    channel: ChannelKind | Literal["none"] = Field(description="The channel that delivered it, or the last one "
                                                               "tried ('none': there was none to try).")
    attempts: int = Field(ge=0)
    contact_id: str | None = Field(None, description="The contact serving the liaison position.")


class AlertDeliveredPayload(AlertOutcomePayload):
    status_code: int | None = Field(description="The channel's answer (HTTP status, SMTP reply code).")
    unconfirmed: bool = Field(False, description="It may have gone out before notify crashed and its channel "
                                                 "cannot say: counted as delivered, not sent again.")


class AlertFailedPayload(AlertOutcomePayload):
    reason: str


class AlertDelivered(Event):
    payload: AlertDeliveredPayload


class AlertFailed(Event):
    payload: AlertFailedPayload


class GroupedAlert(Contract):
    alert_id: uuid.UUID
    incident_id: uuid.UUID | None
    chain_id: uuid.UUID | None


class AlertRequestedPayload(Contract):
    """One alert to one liaison: what will be sent, so the log shows exactly what was said."""

    alert_id: uuid.UUID
    incident_id: uuid.UUID | None = Field(description="None for an alert about a kecamatan's alert level.")
    liaison: Liaison
    message: str = Field(description="The alert text in Bahasa Indonesia.")
    incident: IncidentEscalatedPayload | None = Field(None, description="The escalation this alert is about.")
    area: AreaAlertLevelChangedPayload | None = Field(None, description="The rise of a kecamatan's alert level this "
                                                                      "alert is about.")
    overdue: IncidentAssignmentOverduePayload | None = Field(None, description="The missed deadline of an assigned "
                                                                               "agency this reminder is about.")
    chain_id: uuid.UUID | None = Field(None, description="The escalation chain this alert is a step of: its "
                                                         "recipient can acknowledge it.")
    undelivered: uuid.UUID | None = Field(None, description="The alert that could not be delivered, when this one "
                                                            "tells the desk so.")
    grouped: tuple[GroupedAlert, ...] = Field((), description="The held alerts this one sums up (a digest).")

    @property
    def kecamatan_code(self) -> str | None:
        about = self.incident or self.area or self.overdue
        return about.kecamatan_code if about else None


class AlertRequested(Event):
    payload: AlertRequestedPayload


class AlertHeldPayload(AlertRequestedPayload):
    release_at: AwareDatetime = Field(description="When it goes out, summed up with the others held for its "
                                                  "recipient by then.")
    reason: Literal["grouped", "flood_limit"] = Field(
        description="grouped: its recipient had an alert about the same kecamatan minutes ago; flood_limit: its "
                    "recipient had as many alerts as the limit allows within the window.")


class AlertHeld(Event):
    """A non-critical alert kept back to go out in one digest with others (never a kritis one)."""

    payload: AlertHeldPayload
