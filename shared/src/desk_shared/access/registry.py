"""The registry of agencies and their keys, rebuilt from the log by pure functions.

`evolve` folds one event into the registry; `authenticate` and `may_report_for` answer intake's
questions; `register`, `change_areas`, `issue`, `rotate` and `revoke` are the operator's
decisions, each refusing what the registry does not allow and returning the events to append."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TypeVar

from desk_shared.access import keys
from desk_shared.contracts.agencies import (
    AgencyAreasChanged,
    AgencyAreasChangedPayload,
    AgencyKeyIssued,
    AgencyKeyIssuedPayload,
    AgencyKeyRevoked,
    AgencyKeyRevokedPayload,
    AgencyKind,
    AgencyRegistered,
    AgencyRegisteredPayload,
    Areas,
)
from desk_shared.contracts.envelope import Actor, Event
from desk_shared.contracts.regions import RegionDirectory


class Refused(ValueError):
    """An operator's command the registry does not allow; the message says why."""


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    kind: AgencyKind
    areas: Areas


@dataclass(frozen=True)
class Credential:
    key_id: str
    agency: str
    secret_sha256: str
    revoked: str | None = None
    """Why it was revoked; None while it is valid."""
    nats_bcrypt: str | None = None


@dataclass(frozen=True)
class Registry:
    agencies: Mapping[str, Agency] = field(default_factory=lambda: MappingProxyType({}))
    credentials: Mapping[str, Credential] = field(default_factory=lambda: MappingProxyType({}))

    def keys_of(self, agency: str) -> list[Credential]:
        return sorted((c for c in self.credentials.values() if c.agency == agency), key=lambda c: c.key_id)


V = TypeVar("V")


def _with(mapping: Mapping[str, V], key: str, value: V) -> Mapping[str, V]:
    return MappingProxyType({**mapping, key: value})


def evolve(registry: Registry, event: Event) -> Registry:
    """The registry after `event` (events it is not built from leave it as it is). All the
    events it is built from are on `subjects.AGENCY_EVENTS`, so one reader sees them in order."""
    match event:
        case AgencyRegistered(payload=p):
            agency = Agency(p.agency, p.name, p.kind, p.areas)
            return replace(registry, agencies=_with(registry.agencies, p.agency, agency))
        case AgencyAreasChanged(payload=p) if p.agency in registry.agencies:
            agency = replace(registry.agencies[p.agency], areas=p.areas)
            return replace(registry, agencies=_with(registry.agencies, p.agency, agency))
        case AgencyKeyIssued(payload=p):
            credential = Credential(p.key_id, p.agency, p.secret_sha256, nats_bcrypt=p.nats_bcrypt)
            return replace(registry, credentials=_with(registry.credentials, p.key_id, credential))
        case AgencyKeyRevoked(payload=p) if p.key_id in registry.credentials:
            credential = replace(registry.credentials[p.key_id], revoked=p.reason)
            return replace(registry, credentials=_with(registry.credentials, p.key_id, credential))
    return registry


def rebuild(events: list[Event]) -> Registry:
    registry = Registry()
    for event in events:
        registry = evolve(registry, event)
    return registry


# ----------------------------------------------------------------------------- intake's questions
@dataclass(frozen=True)
class Denied:
    """Why a presented key does not authenticate; `key_id` when the key was well-formed."""

    reason: str
    key_id: str | None = None


def authenticate(registry: Registry, token: str | None) -> Agency | Denied:
    """The agency a presented API key belongs to, or why it is refused."""
    if not token:
        return Denied("no API key")
    presented = keys.parse(token)
    if presented is None:
        return Denied("not a Desk Pemilu API key")
    credential = registry.credentials.get(presented.key_id)
    if credential is None or not keys.matches(presented, credential.secret_sha256):
        return Denied("unknown API key", presented.key_id)
    if credential.revoked is not None:
        return Denied("revoked API key", presented.key_id)
    agency = registry.agencies.get(credential.agency)
    if agency is None:
        return Denied("the key's agency is not registered", presented.key_id)
    return agency


def may_report_for(agency: Agency, kecamatan_code: str) -> str | None:
    """None if `agency` may report for the kecamatan; otherwise why not (for a 403)."""
    if agency.areas.covers(kecamatan_code):
        return None
    return f"agency {agency.code} may report only for {agency.areas.describe() or 'no area'}"


# ----------------------------------------------------------------------------- the operator's decisions
@dataclass(frozen=True)
class Issued:
    """A new key: the token to show its owner once, and the event that records only its digest."""

    token: str
    event: AgencyKeyIssued


def check_areas(areas: Areas, directory: RegionDirectory) -> None:
    unknown = [r for r in areas.regencies if r not in directory.regencies]
    unknown += [k for k in areas.kecamatan if directory.kecamatan_of(k) is None]
    if unknown:
        raise Refused(f"unknown area code(s): {', '.join(unknown)}")
    if not areas.regencies and not areas.kecamatan:
        raise Refused("at least one area is needed (a regency or a kecamatan)")


def register(registry: Registry, directory: RegionDirectory, *, code: str, name: str, kind: AgencyKind,
             areas: Areas, actor: Actor, producer: str) -> AgencyRegistered:
    if code in registry.agencies:
        raise Refused(f"agency {code} is already registered")
    check_areas(areas, directory)
    return AgencyRegistered.decided(actor, producer,
                                    AgencyRegisteredPayload(agency=code, name=name, kind=kind, areas=areas))


def change_areas(registry: Registry, directory: RegionDirectory, *, code: str, areas: Areas, actor: Actor,
                 producer: str) -> AgencyAreasChanged:
    _agency(registry, code)
    check_areas(areas, directory)
    return AgencyAreasChanged.decided(actor, producer, AgencyAreasChangedPayload(agency=code, areas=areas))


def issue(registry: Registry, *, code: str, actor: Actor, producer: str, replaces: str | None = None) -> Issued:
    _agency(registry, code)
    key = keys.new_key()
    event = AgencyKeyIssued.decided(actor, producer, AgencyKeyIssuedPayload(
        agency=code, key_id=key.key_id, secret_sha256=key.secret_sha256, replaces=replaces,
        nats_bcrypt=key.nats_bcrypt))
    return Issued(key.token, event)


def revoke(registry: Registry, *, key_id: str, reason: str, actor: Actor, producer: str) -> AgencyKeyRevoked:
    credential = registry.credentials.get(key_id)
    if credential is None:
        raise Refused(f"no key {key_id}")
    if credential.revoked is not None:
        raise Refused(f"key {key_id} is already revoked ({credential.revoked})")
    return AgencyKeyRevoked.decided(actor, producer,
                                    AgencyKeyRevokedPayload(agency=credential.agency, key_id=key_id, reason=reason))


def rotate(registry: Registry, *, key_id: str, actor: Actor, producer: str) -> tuple[Issued, AgencyKeyRevoked]:
    """A new key for the same agency, and the old one revoked: append both, the new one first."""
    revoked = revoke(registry, key_id=key_id, reason="rotated", actor=actor, producer=producer)
    issued = issue(registry, code=revoked.payload.agency, actor=actor, producer=producer, replaces=key_id)
    return issued, revoked


def _agency(registry: Registry, code: str) -> Agency:
    agency = registry.agencies.get(code)
    if agency is None:
        raise Refused(f"no agency {code}")
    return agency
