"""Who is alerted for a kecamatan: its Polsek and Koramil, and, when its alert level rises to
siaga or awas, the regency's desk as well."""

from __future__ import annotations

from dataclasses import dataclass, field

from desk_shared.contracts.events import Liaison
from desk_shared.contracts.regions import RegionDirectory


def kecamatan_liaisons(kecamatan_code: str, directory: RegionDirectory) -> tuple[Liaison, ...]:
    area = directory.kecamatan_of(kecamatan_code)
    place = area.name if area else kecamatan_code
    return (
        Liaison(id=f"polsek:{kecamatan_code}", agency="polri", unit=f"Polsek {place}"),
        Liaison(id=f"koramil:{kecamatan_code}", agency="tni", unit=f"Koramil {place}"),
    )


def desk_liaisons(kecamatan_code: str, directory: RegionDirectory) -> tuple[Liaison, ...]:
    regency_code = kecamatan_code.rsplit(".", 1)[0]
    regency = directory.regency_of_kecamatan(kecamatan_code)
    name = regency.name if regency else regency_code
    return (Liaison(id=f"desk:{regency_code}", agency="desk", unit=f"Desk Pemilu {name}"),)


@dataclass(frozen=True)
class Liaisons:
    """The lists above, worked out once per kecamatan."""

    directory: RegionDirectory
    _kecamatan: dict[str, tuple[Liaison, ...]] = field(default_factory=dict)
    _desk: dict[str, tuple[Liaison, ...]] = field(default_factory=dict)

    def kecamatan(self, code: str) -> tuple[Liaison, ...]:
        found = self._kecamatan.get(code)
        if found is None:
            found = self._kecamatan[code] = kecamatan_liaisons(code, self.directory)
        return found

    def desk(self, code: str) -> tuple[Liaison, ...]:
        found = self._desk.get(code)
        if found is None:
            found = self._desk[code] = desk_liaisons(code, self.directory)
        return found
