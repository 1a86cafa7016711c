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
from desk_shared.access.registry import Agency, authenticate, evolve, issue, register
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor
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


async def provision(js: JetStreamContext, bus: BusSettings, code: str, name: str, kind: AgencyKind,
                    areas: Areas, actor: Actor = LAUNCHER) -> str:
    """Register `code` unless it is, and issue it a new key; the key."""
    registry = await current_registry(js, bus)
    events = []
    if code not in registry.agencies:
        registered = register(registry, regions(), code=code, name=name, kind=kind, areas=areas, actor=actor,
                              producer=actor.id)
        events.append(registered)
        registry = evolve(registry, registered)
    issued = issue(registry, code=code, actor=actor, producer=actor.id)
    await append(js, bus, [*events, issued.event])
    return issued.token


async def demo_keys(js: JetStreamContext, bus: BusSettings, kept: dict[str, str]) -> dict[str, str]:
    """A valid key per demo agency: the `kept` ones while the log still accepts them, new ones
    (agencies registered first if need be) for the rest."""
    registry = await current_registry(js, bus)
    keys: dict[str, str] = {}
    for code, name, kind, areas in DEMO_AGENCIES:
        token = kept.get(code)
        if token and isinstance(authenticate(registry, token), Agency):
            keys[code] = token
        else:
            keys[code] = await provision(js, bus, code, name, kind, areas)
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
