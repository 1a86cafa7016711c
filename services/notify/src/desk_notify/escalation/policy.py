"""The escalation policy: data (`policy.toml`), read once at start, turned into a chain's steps (pure).

The first rule matching an escalation's severity and its kecamatan's alert level gives the
steps; a step names positions ('polsek', 'kodim', ...) that become liaisons of the incident's
kecamatan or regency. The version in force is the file's own plus a digest of its content, so
a chain records exactly which policy it runs."""

from __future__ import annotations

import hashlib
import tomllib
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from desk_shared.contracts.escalation import EscalationStep
from desk_shared.contracts.incidents import AlertLevel, Liaison
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.contracts.taxonomy import Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Position(_Strict):
    agency: str = Field(min_length=1)
    area: Literal["kecamatan", "regency"]
    unit: str = Field(min_length=1, description="'{kecamatan}' and '{regency}' are replaced by the area's name "
                                                "(a kabupaten's without the word 'Kabupaten').")


class Rule(_Strict):
    name: str = Field(min_length=1)
    severities: tuple[Severity, ...] = Field((), description="Empty: any severity.")
    levels: tuple[AlertLevel, ...] = Field((), description="Empty: any alert level of the kecamatan.")
    steps: tuple[tuple[str, ...], ...] = Field(min_length=1)
    ack_within_minutes: float = Field(gt=0)
    rounds: int = Field(1, ge=1)
    remind_after_minutes: float = Field(gt=0)
    reminders: int = Field(3, ge=0)
    exhausted: tuple[str, ...] = Field(min_length=1, description="Who is told when nobody acknowledged at all.")

    def matches(self, severity: Severity, level: AlertLevel) -> bool:
        return (not self.severities or severity in self.severities) and (not self.levels or level in self.levels)


class PolicyFile(_Strict):
    version: str = Field(min_length=1)
    position: dict[str, Position] = Field(min_length=1)
    rule: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_positions(self) -> PolicyFile:
        for rule in self.rule:
            unknown = {name for step in rule.steps for name in step if name not in self.position}
            unknown |= {name for name in rule.exhausted if name not in self.position}
            if unknown:
                raise ValueError(f"rule {rule.name!r} names unknown position(s) {sorted(unknown)}")
            if any(not step for step in rule.steps):
                raise ValueError(f"rule {rule.name!r} has an empty step")
        if self.rule[-1].severities or self.rule[-1].levels:
            raise ValueError("the last rule must match everything (no severities, no levels): no escalation may "
                             "find no rule")
        return self


class Policy:
    def __init__(self, file: PolicyFile, digest: str, directory: RegionDirectory) -> None:
        self.file = file
        self.version = f"{file.version}+{digest[:8]}"
        self._directory = directory

    def rule_for(self, severity: Severity, level: AlertLevel) -> Rule:
        return next(rule for rule in self.file.rule if rule.matches(severity, level))

    def liaisons(self, names: tuple[str, ...], kecamatan_code: str) -> tuple[Liaison, ...]:
        return tuple(self._liaison(name, kecamatan_code) for name in names)

    def steps(self, rule: Rule, kecamatan_code: str) -> tuple[EscalationStep, ...]:
        wait = max(1, round(rule.ack_within_minutes * 60))
        return tuple(EscalationStep(recipients=self.liaisons(step, kecamatan_code), ack_within_seconds=wait)
                     for step in rule.steps)

    def desk(self, kecamatan_code: str) -> tuple[Liaison, ...]:
        """Who is told what nobody else took or received: the catch-all rule's last resort."""
        return self.liaisons(self.file.rule[-1].exhausted, kecamatan_code)

    def _liaison(self, name: str, kecamatan_code: str) -> Liaison:
        position = self.file.position[name]
        kecamatan = self._directory.kecamatan_of(kecamatan_code)
        regency = self._directory.regency_of_kecamatan(kecamatan_code)
        regency_code = kecamatan_code.rsplit(".", 1)[0]
        code = kecamatan_code if position.area == "kecamatan" else regency_code
        unit = position.unit.format(kecamatan=kecamatan.name if kecamatan else kecamatan_code,
                                    regency=regency.name.removeprefix("Kabupaten ") if regency else regency_code)
        return Liaison(id=f"{name}:{code}", agency=position.agency, unit=unit)


def load_policy(directory: RegionDirectory, path: Path | None = None) -> Policy:
    """The policy of `path`, or the bundled default; a bad file is an error at start."""
    raw = path.read_bytes() if path else _default_bytes()
    return Policy(PolicyFile.model_validate(tomllib.loads(raw.decode())), hashlib.sha256(raw).hexdigest(), directory)


@cache
def _default_bytes() -> bytes:
    return files("desk_notify.escalation").joinpath("policy.toml").read_bytes()
