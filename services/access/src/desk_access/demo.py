"""The demo registry `./desk up` creates: a few agencies of Kabupaten Gayo Lues, one key each.

Keys are shown once in production; for the demo the launcher keeps them in a file of its state
directory (readable by its owner only) and prints them at every start, so a newcomer can try
the APIs at once."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from nats.js import JetStreamContext

from desk_access.operations import append, current_registry, session
from desk_shared.access.registry import Agency, Registry, authenticate, evolve, issue, register
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor, Event
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
    keys_file.touch(mode=0o600)
    os.chmod(keys_file, 0o600)
    keys_file.write_text(json.dumps(keys, indent=1))
    return keys
