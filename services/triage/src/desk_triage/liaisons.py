"""Who is alerted about an escalated incident: the kecamatan's Polsek and Koramil."""

from __future__ import annotations

from desk_shared.contracts.events import Liaison
from desk_shared.contracts.regions import RegionDirectory


def kecamatan_liaisons(kecamatan_code: str, directory: RegionDirectory) -> tuple[Liaison, ...]:
    area = directory.kecamatan_of(kecamatan_code)
    place = area.name if area else kecamatan_code
    return (
        Liaison(id=f"polsek:{kecamatan_code}", agency="polri", unit=f"Polsek {place}"),
        Liaison(id=f"koramil:{kecamatan_code}", agency="tni", unit=f"Koramil {place}"),
    )
