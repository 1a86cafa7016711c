"""Agencies and keys for tests: registered and issued through the log, as an operator would."""

from __future__ import annotations

import asyncio

from desk_access.demo import provision
from desk_access.operations import session
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.regions import regions
from desk_shared.runtime.settings import BusSettings


def everywhere() -> Areas:
    """Every regency of Indonesia: for tests that report from anywhere (the corpus's eight regencies)."""
    return Areas(regencies=tuple(sorted(regions().regencies)))


def agency_key(bus: BusSettings, code: str = "test-agency", areas: Areas | None = None,
               kind: AgencyKind = AgencyKind.OTHER) -> str:
    """A new key of agency `code` (registered first, for `areas` or everywhere, if it is not yet)."""
    async def run() -> str:
        async with session(bus) as js:
            return await provision(js, bus, code, code.upper(), kind, areas or everywhere())

    return asyncio.run(run())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
