"""The desk's people as the log tells them, what each role may do, and the administrator's
decisions about people. Pure: no NATS, no database."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from desk_shared.access.registry import Refused, check_areas
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import Actor, Event
from desk_shared.contracts.people import (
    PersonDataErased,
    PersonDataErasedPayload,
    PersonDisabled,
    PersonDisabledPayload,
    PersonRegistered,
    PersonRegisteredPayload,
    PersonRolesChanged,
    PersonRolesChangedPayload,
    Role,
    Sealed,
)
from desk_shared.contracts.regions import RegionDirectory


class Capability(StrEnum):
    READ_BOARD = "read_board"
    """Incidents and the situation, within the person's areas."""
    DECIDE = "decide"
    """Desk officers' decisions on incidents."""
    ACKNOWLEDGE = "acknowledge"
    """A liaison's acknowledgement of his alerts."""
    READ_PERSONAL = "read_personal"
    """Personal data unredacted (each read recorded)."""
    READ_LOG = "read_log"
    """The event log itself."""
    ADMINISTER = "administer"
    """Agencies and people."""


GRANTS: Mapping[Role, frozenset[Capability]] = MappingProxyType({
    Role.DESK_OFFICER: frozenset({Capability.READ_BOARD, Capability.DECIDE, Capability.READ_PERSONAL}),
    Role.LEADER: frozenset({Capability.READ_BOARD}),
    Role.LIAISON: frozenset({Capability.READ_BOARD, Capability.ACKNOWLEDGE}),
    Role.AUDITOR: frozenset({Capability.READ_BOARD, Capability.READ_PERSONAL, Capability.READ_LOG}),
    Role.ADMINISTRATOR: frozenset({Capability.READ_BOARD, Capability.ADMINISTER}),
})


@dataclass(frozen=True)
class Person:
    person_id: str
    login: str
    roles: tuple[Role, ...]
    areas: Areas
    details: Sealed
    disabled: str | None = None
    """Why the person may no longer log in; None while active."""
    erased: bool = False


@dataclass(frozen=True)
class Principal:
    """An authenticated person, as a request carries them."""

    person_id: str
    login: str
    roles: tuple[Role, ...]
    areas: Areas

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset().union(*(GRANTS[role] for role in self.roles))

    def may(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def sees(self, kecamatan_code: str) -> bool:
        return self.areas.covers(kecamatan_code)

    @property
    def actor(self) -> Actor:
        return Actor(kind="person", id=self.person_id)


@dataclass(frozen=True)
class People:
    by_id: Mapping[str, Person] = field(default_factory=lambda: MappingProxyType({}))
    by_login: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def principal(self, person_id: str) -> Principal | None:
        """The person as a principal; None if unknown or disabled."""
        person = self.by_id.get(person_id)
        if person is None or person.disabled is not None:
            return None
        return Principal(person.person_id, person.login, person.roles, person.areas)

    def find(self, login: str) -> Person | None:
        person_id = self.by_login.get(login)
        return self.by_id.get(person_id) if person_id else None


def _with(people: People, person: Person) -> People:
    return replace(people, by_id=MappingProxyType({**people.by_id, person.person_id: person}),
                   by_login=MappingProxyType({**people.by_login, person.login: person.person_id}))


def evolve(people: People, event: Event) -> People:
    match event:
        case PersonRegistered(payload=p) if p.login not in people.by_login:
            return _with(people, Person(str(p.person_id), p.login, p.roles, p.areas, p.details))
        case PersonRolesChanged(payload=p) if str(p.person_id) in people.by_id:
            return _with(people, replace(people.by_id[str(p.person_id)], roles=p.roles, areas=p.areas))
        case PersonDisabled(payload=p) if str(p.person_id) in people.by_id:
            return _with(people, replace(people.by_id[str(p.person_id)], disabled=p.reason))
        case PersonDataErased(payload=p) if str(p.person_id) in people.by_id:
            return _with(people, replace(people.by_id[str(p.person_id)], erased=True))
    return people


# ----------------------------------------------------------------------------- the administrator's decisions
def register_person(people: People, directory: RegionDirectory, *, person_id: uuid.UUID, login: str,
                    roles: tuple[Role, ...], areas: Areas, details: Sealed, actor: Actor,
                    producer: str) -> PersonRegistered:
    if login in people.by_login:
        raise Refused(f"login {login} is taken")
    check_areas(areas, directory)
    return PersonRegistered.decided(actor, producer, PersonRegisteredPayload(
        person_id=person_id, login=login, roles=roles, areas=areas, details=details))


def _person(people: People, login: str) -> Person:
    person = people.find(login)
    if person is None:
        raise Refused(f"no person with login {login}")
    return person


def change_roles(people: People, directory: RegionDirectory, *, login: str, roles: tuple[Role, ...], areas: Areas,
                 actor: Actor, producer: str) -> PersonRolesChanged:
    person = _person(people, login)
    check_areas(areas, directory)
    return PersonRolesChanged.decided(actor, producer, PersonRolesChangedPayload(
        person_id=uuid.UUID(person.person_id), roles=roles, areas=areas))


def disable(people: People, *, login: str, reason: str, actor: Actor, producer: str) -> PersonDisabled:
    person = _person(people, login)
    if person.disabled is not None:
        raise Refused(f"{login} is already disabled ({person.disabled})")
    return PersonDisabled.decided(actor, producer, PersonDisabledPayload(person_id=uuid.UUID(person.person_id),
                                                                          reason=reason))


def erased(people: People, *, login: str, reason: str, actor: Actor, producer: str) -> PersonDataErased:
    """The record that a person's key was destroyed (destroy it first; disable them too)."""
    person = _person(people, login)
    return PersonDataErased.decided(actor, producer, PersonDataErasedPayload(person_id=uuid.UUID(person.person_id),
                                                                              reason=reason))
