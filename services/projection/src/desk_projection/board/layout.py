"""The board's map layout: each kecamatan's place on a grid drawn like the regency's map, read from
a TOML file (the packaged one, or the desk's own: `DESK_PROJECTION_BOARD_LAYOUT_FILE`)."""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

DEFAULT = Path(str(files("desk_projection.board").joinpath("layouts.toml")))
KECAMATAN = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


class Layout(BaseModel):
    regencies: dict[str, dict[str, tuple[int, int]]] = Field(default_factory=dict)

    @field_validator("regencies")
    @classmethod
    def _places(cls, value: dict[str, dict[str, tuple[int, int]]]) -> dict[str, dict[str, tuple[int, int]]]:
        for regency, places in value.items():
            taken: dict[tuple[int, int], str] = {}
            for code, (row, column) in places.items():
                if not KECAMATAN.match(code) or not code.startswith(f"{regency}."):
                    raise ValueError(f"{code!r} is not a kecamatan of regency {regency}")
                if not (1 <= row <= 50 and 1 <= column <= 50):
                    raise ValueError(f"{code}: row and column must be between 1 and 50")
                if (row, column) in taken:
                    raise ValueError(f"{code} and {taken[(row, column)]} share the place {row}, {column}")
                taken[(row, column)] = code
        return value

    def places(self) -> dict[str, tuple[int, int]]:
        """Every kecamatan's [row, column], whatever its regency (codes are unique)."""
        return {code: place for places in self.regencies.values() for code, place in places.items()}


def load_layout(path: Path | None) -> Layout:
    """The layout in `path` (the packaged one when None); a bad file stops the start with its reason."""
    source = path or DEFAULT
    try:
        return Layout.model_validate(tomllib.loads(source.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise SystemExit(f"board layout {source}: {exc}") from None
