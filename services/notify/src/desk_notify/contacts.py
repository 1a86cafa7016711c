"""Who receives each liaison position's alerts, and how: a list of contacts, each serving some
positions (`polsek:11.13.01`, `kodim:*`) with channels in the order they are tried. The first
contact serving a position wins.

The list is kept as events (`ContactRegistered`, `ContactChanged`, `ContactRemoved`): every
replica folds the same directory from the log, and every change says when it was made and by
whom. An operator edits a TOML file (`contacts.example.toml`); notify turns each change of it
into events (`changes`, pure, given the sealed details), so the file is how people write the
list and the log is what the desk knows."""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyrsistent import PMap, pmap

from desk_shared.contracts.contacts import (
    CONTACT_ID_PATTERN,
    Channel,
    ContactChanged,
    ContactDetails,
    ContactPayload,
    ContactRegistered,
    ContactRemoved,
    ContactRemovedPayload,
)
from desk_shared.contracts.envelope import Actor, Event, derived_id
from desk_shared.contracts.privacy import Sealed

log = logging.getLogger(__name__)


class ContactEntry(BaseModel):
    """One `[[contact]]` of the file. The first form (`match`, `webhook`, `name` as the label) is
    still read: it is a contact with one webhook channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=CONTACT_ID_PATTERN, description="Stable: a change of anything else is a change "
                                                            "of this contact.")
    serves: tuple[str, ...] = Field(min_length=1)
    label: str = Field(min_length=1, max_length=200, description="A unit, not a person: shown in logs and on the "
                                                                 "board.")
    name: str | None = Field(None, max_length=200, description="The person (sealed in the log).")
    channels: tuple[Channel, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _first_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and "match" in data:
            data = dict(data)
            match, webhook, label = data.pop("match"), data.pop("webhook", None), data.pop("name", None)
            data.setdefault("serves", [match])
            data.setdefault("label", label or match)
            data.setdefault("id", _slug(label or match))
            if webhook is not None:
                data.setdefault("channels", [{"kind": "webhook", "address": webhook}])
        return data

    @property
    def details(self) -> ContactDetails:
        return ContactDetails(name=self.name, channels=self.channels)


class ContactFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contact: tuple[ContactEntry, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> ContactFile:
        seen: set[str] = set()
        for entry in self.contact:
            if entry.id in seen:
                raise ValueError(f"two contacts have the id {entry.id!r} (give each an `id`)")
            seen.add(entry.id)
        return self

    @classmethod
    def load(cls, path: Path) -> ContactFile:
        with path.open("rb") as handle:
            return cls.model_validate(tomllib.load(handle))


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower().replace("*", "all")).strip("-._")[:80]
    return slug if slug and slug[0].isalnum() else f"c-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class Directory:
    contacts: PMap[str, ContactPayload] = field(default_factory=pmap)
    last_event: PMap[str, uuid.UUID] = field(default_factory=pmap)
    """The last event about each contact ever listed (removed ones too): the next change's id is
    derived from it, so a contact removed and listed again is a new event, not a repeat."""

    def find(self, liaison_id: str) -> ContactPayload | None:
        """The first contact (by rank) serving `liaison_id`."""
        serving = [p for p in self.contacts.values() if any(fnmatchcase(liaison_id, pattern) for pattern in p.serves)]
        return min(serving, key=lambda p: (p.rank, p.contact_id), default=None)


def evolve(directory: Directory, event: Event) -> Directory:
    match event:
        case ContactRegistered(payload=p) | ContactChanged(payload=p):
            return Directory(directory.contacts.set(p.contact_id, p),
                             directory.last_event.set(p.contact_id, event.event_id))
        case ContactRemoved(payload=p) if p.contact_id in directory.contacts:
            return Directory(directory.contacts.discard(p.contact_id),
                             directory.last_event.set(p.contact_id, event.event_id))
    return directory


def contact_subject(contact_id: str) -> str:
    """Whose key seals a contact's details (a key-value key: no colons)."""
    return f"contact.{contact_id}"


def changes(directory: Directory, wanted: ContactFile, sealed: Mapping[str, Sealed], actor: Actor, producer: str,
            now: datetime) -> list[Event]:
    """The events that make the directory what the file says (`sealed`: each contact's details,
    sealed). Ids come from the contact's last event and the new content, so replicas applying
    the same file append each change once."""
    events: list[Event] = []
    for rank, entry in enumerate(wanted.contact):
        payload = ContactPayload(contact_id=entry.id, rank=rank, serves=entry.serves, label=entry.label,
                                 details=sealed[entry.id])
        known = directory.contacts.get(entry.id)
        if known == payload:
            continue
        kind = ContactRegistered if known is None else ContactChanged
        events.append(_event(kind, directory, entry.id, payload, actor, producer, now))
    listed = {e.id for e in wanted.contact}
    for contact_id in sorted(set(directory.contacts) - listed):
        events.append(_event(ContactRemoved, directory, contact_id, ContactRemovedPayload(contact_id=contact_id),
                             actor, producer, now))
    return events


def _event(kind: type[Event], directory: Directory, contact_id: str, payload: BaseModel, actor: Actor,
           producer: str, now: datetime) -> Event:
    digest = hashlib.sha256(payload.model_dump_json().encode()).hexdigest()
    event_id = derived_id(directory.last_event.get(contact_id, f"contact:{contact_id}"),
                          f"{kind.event_type}:{digest}")
    return kind(event_id=event_id, occurred_at=now, recorded_at=now, correlation_id=event_id, producer=producer,
                actor=actor, payload=payload)
