"""Escalation policies for tests and benchmarks, written as notify reads them (TOML)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

POSITIONS = {
    "polsek": ("polri", "kecamatan", "Polsek {kecamatan}"),
    "koramil": ("tni", "kecamatan", "Koramil {kecamatan}"),
    "babinsa": ("tni", "kecamatan", "Babinsa {kecamatan}"),
    "polres": ("polri", "regency", "Polres {regency}"),
    "kodim": ("tni", "regency", "Kodim {regency}"),
    "desk": ("desk", "regency", "Desk Pemilu {regency}"),
}


@dataclass(frozen=True)
class Rule:
    steps: Sequence[Sequence[str]]
    ack_within_minutes: float = 60.0
    rounds: int = 1
    severities: Sequence[str] = ()
    exhausted: Sequence[str] = ("desk",)
    name: str = "uji"


def policy_toml(*rules: Rule, extra_positions: Sequence[str] = ()) -> str:
    """A policy with the usual positions (and `extra_positions`, of a kecamatan), the rules in order
    (the last must match everything)."""
    positions = {**POSITIONS, **{name: ("polri", "kecamatan", f"{name} {{kecamatan}}") for name in extra_positions}}
    lines = ['version = "uji"']
    for name, (agency, area, unit) in positions.items():
        lines += [f"[position.{name}]", f'agency = "{agency}"', f'area = "{area}"', f'unit = "{unit}"']
    for n, rule in enumerate(rules):
        lines += ["[[rule]]", f'name = "{rule.name}-{n}"', f"steps = {[list(step) for step in rule.steps]}",
                  f"ack_within_minutes = {rule.ack_within_minutes}", f"rounds = {rule.rounds}",
                  "remind_after_minutes = 600", f"exhausted = {list(rule.exhausted)}"]
        if rule.severities:
            lines.append(f"severities = {list(rule.severities)}")
    return "\n".join(lines) + "\n"
