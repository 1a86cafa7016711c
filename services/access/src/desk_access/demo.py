"""The demo registry `./desk up` creates: a few agencies of Kabupaten Gayo Lues, one key each, and
one person per role with a password and a bearer token.

Keys are shown once in production; for the demo the launcher keeps them in a file of its state
directory (readable by its owner only) and prints them at every start, so a newcomer can try
the APIs at once."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from nats.js import JetStreamContext

from desk_access.operations import append, current_registry, session
from desk_access.people_admin import Desk, add_person
from desk_access.private_files import write_private
from desk_shared.access.registry import Agency, Registry, authenticate, evolve, issue, register
from desk_shared.access.sessions import SessionKind, Sessions
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor, Event
from desk_shared.contracts.people import PersonalDetails, Role
from desk_shared.contracts.regions import regions
from desk_shared.runtime.settings import BusSettings

GAYO_LUES = Areas(regencies=("11.13",))
DEMO_AGENCIES: tuple[tuple[str, str, AgencyKind, Areas], ...] = (
    ("kesbangpol", "Kesbangpol Kabupaten Gayo Lues", AgencyKind.KESBANGPOL, GAYO_LUES),
    ("bawaslu", "Bawaslu Kabupaten Gayo Lues", AgencyKind.BAWASLU, GAYO_LUES),
    ("polres", "Polres Gayo Lues", AgencyKind.POLRES, GAYO_LUES),
    ("camat-blangkejeren", "Kantor Camat Blangkejeren", AgencyKind.KECAMATAN, Areas(kecamatan=("11.13.01",))),
)
LAUNCHER = Actor.service("desk-up")


def provisioned(registry: Registry, code: str, name: str, kind: AgencyKind, areas: Areas,
                actor: Actor = LAUNCHER) -> tuple[list[Event], str, Registry]:
    """The events that register `code` (unless it is) and issue it a new key; the key; the registry after."""
    events: list[Event] = []
    if code not in registry.agencies:
        events.append(register(registry, regions(), code=code, name=name, kind=kind, areas=areas, actor=actor,
                               producer=actor.id))
        registry = evolve(registry, events[-1])
    issued = issue(registry, code=code, actor=actor, producer=actor.id)
    events.append(issued.event)
    return events, issued.token, evolve(registry, issued.event)


async def provision(js: JetStreamContext, bus: BusSettings, code: str, name: str, kind: AgencyKind,
                    areas: Areas, actor: Actor = LAUNCHER) -> str:
    """Register `code` unless it is, and issue it a new key; the key."""
    events, token, _ = provisioned(await current_registry(js, bus), code, name, kind, areas, actor)
    await append(js, bus, events)
    return token


async def demo_keys(js: JetStreamContext, bus: BusSettings, kept: dict[str, str]) -> dict[str, str]:
    """A valid key per demo agency: the `kept` ones while the log still accepts them, new ones
    (agencies registered first if need be) for the rest; one read of the registry, one append."""
    registry = await current_registry(js, bus)
    keys: dict[str, str] = {}
    events: list[Event] = []
    for code, name, kind, areas in DEMO_AGENCIES:
        token = kept.get(code)
        if token and isinstance(authenticate(registry, token), Agency):
            keys[code] = token
        else:
            more, keys[code], registry = provisioned(registry, code, name, kind, areas)
            events += more
    await append(js, bus, events)
    return keys


def demo_keys_kept(bus: BusSettings, keys_file: Path) -> dict[str, str]:
    """`demo_keys`, kept in `keys_file` (owner-only) between starts."""
    kept = json.loads(keys_file.read_text()) if keys_file.exists() else {}

    async def run() -> dict[str, str]:
        async with session(bus) as js:
            return await demo_keys(js, bus, kept)

    keys = asyncio.run(run())
    write_private(keys_file, json.dumps(keys, indent=1))
    return keys


DEMO_PEOPLE: tuple[tuple[str, str, tuple[Role, ...], Areas], ...] = (
    ("pimpinan", "Pimpinan Desk Pemilu (demo)", (Role.LEADER,), GAYO_LUES),
    ("petugas", "Petugas Desk Pemilu (demo)", (Role.DESK_OFFICER,), GAYO_LUES),
    ("penghubung", "Penghubung Polsek Blangkejeren (demo)", (Role.LIAISON,), Areas(kecamatan=("11.13.01",))),
    ("auditor", "Auditor Inspektorat (demo)", (Role.AUDITOR,), GAYO_LUES),
    ("admin", "Administrator Desk Pemilu (demo)", (Role.ADMINISTRATOR,), GAYO_LUES),
)
TOKEN_DAYS = 90


async def demo_people(js: JetStreamContext, bus: BusSettings, kept: dict[str, dict[str, str]]
                      ) -> dict[str, dict[str, str]]:
    """Per demo person: role, password and a valid bearer token (the kept ones while they work)."""
    desk = Desk(js, bus, LAUNCHER, LAUNCHER.id)
    known = await desk.people()
    sessions = await Sessions.open(js, bus)
    found: dict[str, dict[str, str]] = {}
    for login, name, roles, areas in DEMO_PEOPLE:
        mine = dict(kept.get(login, {}))
        person = known.find(login)
        if person is None:
            mine["password"] = secrets.token_urlsafe(12)
            person_id = await add_person(desk, login=login, details=PersonalDetails(name=name), roles=roles,
                                         areas=areas, password=mine["password"])
        else:
            person_id = person.person_id
            if "password" not in mine:  # the file was lost: a new password
                mine["password"] = secrets.token_urlsafe(12)
                await (await desk.passwords()).set(person_id, mine["password"])
        session = await sessions.find(mine.get("token", ""))
        if session is None or session.person_id != person_id:
            mine["token"], _ = await sessions.start(person_id, SessionKind.API, TOKEN_DAYS * 86400)
        found[login] = mine | {"role": roles[0].value}
    return found


def demo_people_kept(bus: BusSettings, people_file: Path) -> dict[str, dict[str, str]]:
    """`demo_people`, kept in `people_file` (owner-only) between starts."""
    kept = json.loads(people_file.read_text()) if people_file.exists() else {}

    async def run() -> dict[str, dict[str, str]]:
        async with session(bus) as js:
            return await demo_people(js, bus, kept)

    found = asyncio.run(run())
    write_private(people_file, json.dumps(found, indent=1))
    return found
