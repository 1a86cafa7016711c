"""Events about the desk's people: who they are (sealed), what roles they hold, where.

A person is known in the log by a random id and a login name; the person's name and contacts
are personal data (UU 27/2022) and travel only sealed with that person's own key, kept outside
the log (`desk_shared.privacy`): erasing the key erases them from every copy of the log while
the events, their order and their seals stay intact. No password or its hash enters the log."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import Contract, Event
from desk_shared.contracts.privacy import Sealed

LOGIN_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
Login = Annotated[str, StringConstraints(pattern=LOGIN_PATTERN)]
"""A login name: lower case letters, digits, dots, dashes and underscores (`ops.rahmat`)."""


class Role(StrEnum):
    DESK_OFFICER = "desk_officer"
    """Works incidents: triage decisions."""
    LEADER = "leader"
    """Reads the board."""
    LIAISON = "liaison"
    """Police or TNI liaison: his alerts, acknowledges them."""
    AUDITOR = "auditor"
    """Reads everything, including the log; changes nothing."""
    ADMINISTRATOR = "administrator"
    """Agencies and people."""


class PersonalDetails(Contract):
    """What a person's sealed data holds."""

    name: str = Field(min_length=1, max_length=200, examples=["Rahmat Hidayat"])
    phone: str | None = Field(None, max_length=40, examples=["+62 812 3456 7890"])
    email: str | None = Field(None, max_length=200)


class PersonRegisteredPayload(Contract):
    person_id: uuid.UUID
    login: Login
    roles: tuple[Role, ...] = Field(min_length=1)
    areas: Areas
    details: Sealed


class PersonRegistered(Event):
    payload: PersonRegisteredPayload


class PersonRolesChangedPayload(Contract):
    person_id: uuid.UUID
    roles: tuple[Role, ...] = Field(min_length=1)
    areas: Areas


class PersonRolesChanged(Event):
    payload: PersonRolesChangedPayload


class PersonDisabledPayload(Contract):
    person_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)


class PersonDisabled(Event):
    """The person may no longer log in; every session of theirs stops working."""

    payload: PersonDisabledPayload


class PersonDataErasedPayload(Contract):
    person_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)


class PersonDataErased(Event):
    """The person's key was destroyed: their sealed data in the log can no longer be read."""

    payload: PersonDataErasedPayload
