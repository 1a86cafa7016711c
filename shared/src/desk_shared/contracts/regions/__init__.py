"""Indonesian administrative areas (province, regency, kecamatan, village) for validation.

Data: idn-area-data 4.0.1 under the Open Database License, see data/SOURCE.md and
data/LICENSE.md (the attribution must stay with any copy of the data)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True)
class RegionDirectory:
    """Immutable lookup of areas by dotted code (`11.13.01` kecamatan, `11.13.01.2001` village)."""

    provinces: dict[str, Area]
    regencies: dict[str, Area]
    kecamatan: dict[str, Area]
    villages: dict[str, Area]

    def kecamatan_of(self, code: str) -> Area | None:
        return self.kecamatan.get(code)

    def village_of(self, code: str) -> Area | None:
        return self.villages.get(code)

    def regency_of_kecamatan(self, code: str) -> Area | None:
        area = self.kecamatan.get(code)
        return self.regencies.get(area.parent_code) if area and area.parent_code else None

    def kecamatan_in(self, regency_codes: frozenset[str]) -> list[Area]:
        return [a for a in self.kecamatan.values() if a.parent_code in regency_codes]


def _read(name: str, has_parent: bool) -> dict[str, Area]:
    with files(__package__).joinpath("data", name).open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        if has_parent:  # code,parent_code,name
            return {r[0]: Area(r[0], r[2], r[1]) for r in rows}
        return {r[0]: Area(r[0], r[1], None) for r in rows}


@cache
def regions() -> RegionDirectory:
    """The directory, read once per process (about 90,000 rows, well under a second)."""
    return RegionDirectory(
        provinces=_read("provinces.csv", has_parent=False),
        regencies=_read("regencies.csv", has_parent=True),
        kecamatan=_read("districts.csv", has_parent=True),
        villages=_read("villages.csv", has_parent=True),
    )
