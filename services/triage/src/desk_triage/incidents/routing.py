"""Which agencies must act on an incident, and by when: the routing table (`routing.toml`), data
the desk can change without code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from desk_shared.contracts.agencies import AgencyKind
from desk_shared.contracts.taxonomy import Category, Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deadlines(_Strict):
    acknowledge_minutes: int = Field(gt=0)
    act_minutes: int = Field(gt=0)


class Route(_Strict):
    name: str
    categories: tuple[Category, ...] = Field(min_length=1)
    agencies: tuple[AgencyKind, ...] = Field(min_length=1)
    from_: Severity = Field(alias="from")


class RoutingFile(_Strict):
    version: str
    sla: dict[Severity, Deadlines]
    route: tuple[Route, ...]


@dataclass(frozen=True)
class Due:
    acknowledge_by: datetime
    act_by: datetime


@dataclass(frozen=True)
class Routing:
    version: str
    routes: tuple[Route, ...]
    sla: dict[Severity, Deadlines]

    def agencies(self, category: Category, severity: Severity) -> dict[str, str]:
        """Agency kind -> the route that sends it, for an incident of this category and severity."""
        found: dict[str, str] = {}
        for route in self.routes:
            if category in route.categories and severity.rank >= route.from_.rank:
                for agency in route.agencies:
                    found.setdefault(agency.value, route.name)
        return found

    def due(self, severity: Severity, assigned_at: datetime) -> Due:
        deadlines = self.sla[severity]
        return Due(assigned_at + timedelta(minutes=deadlines.acknowledge_minutes),
                   assigned_at + timedelta(minutes=deadlines.act_minutes))

    @classmethod
    def from_bytes(cls, data: bytes) -> Routing:
        spec = RoutingFile.model_validate(tomllib.loads(data.decode("utf-8")))
        missing = [s.value for s in Severity if s not in spec.sla]
        if missing:
            raise ValueError(f"routing: no [sla.<severity>] for {', '.join(missing)}")
        return cls(spec.version, spec.route, spec.sla)


def load_routing(path: Path) -> Routing:
    return Routing.from_bytes(path.read_bytes())


@cache
def default_routing() -> Routing:
    return Routing.from_bytes(files(__package__).joinpath("routing.toml").read_bytes())
