"""The rule set: read from a reviewed TOML file (`rules.toml` in this package), checked
strictly (a typo in a key is an error, not a silently ignored rule) and compiled."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from desk_shared.taxonomy import Category, Severity
from desk_triage.classifier.matching import Negation, Phrase
from desk_triage.classifier.normalise import Normaliser


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PhraseSpec(_Strict):
    phrase: str
    weight: float = Field(gt=0)
    at_least: Severity | None = None


class CategorySpec(_Strict):
    code: Category
    base_severity: Severity
    phrases: list[PhraseSpec] = []


class ModifierSpec(_Strict):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    phrases: list[str] = Field(min_length=1)
    with_: list[str] = Field([], alias="with")
    at_least: Severity | None = None
    categories: list[Category] = []


class CombinationSpec(_Strict):
    name: str
    of: list[str] = Field(min_length=1)
    count: int | None = Field(None, ge=1)
    at_least: Severity
    categories: list[Category] = []


class HintSpec(_Strict):
    weight: float = Field(ge=0)


class NegationSpec(_Strict):
    words: list[str]
    window: int = Field(ge=1)
    transparent: list[str] = []


class RuleFile(_Strict):
    version: str = Field(min_length=1)
    min_score: float = Field(gt=0)
    hint: HintSpec
    negation: NegationSpec
    abbreviations: dict[str, str] = {}
    category: list[CategorySpec]
    modifier: list[ModifierSpec] = []
    combination: list[CombinationSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> RuleFile:
        codes = [c.code for c in self.category]
        if len(set(codes)) != len(codes) or Category.OTHER not in codes:
            raise ValueError("each category at most once, and 'other' must be listed")
        names = {m.name for m in self.modifier}
        for combination in self.combination:
            if unknown := set(combination.of) - names:
                raise ValueError(f"combination {combination.name} names unknown modifiers {sorted(unknown)}")
        return self


# ----------------------------------------------------------------------------- compiled
@dataclass(frozen=True)
class WeightedPhrase:
    phrase: Phrase
    weight: float
    at_least: Severity | None


@dataclass(frozen=True)
class CategoryRules:
    category: Category
    base_severity: Severity
    phrases: tuple[WeightedPhrase, ...]


@dataclass(frozen=True)
class Modifier:
    name: str
    phrases: tuple[Phrase, ...]
    with_: tuple[Phrase, ...]
    at_least: Severity | None
    categories: frozenset[Category]


@dataclass(frozen=True)
class Combination:
    name: str
    of: frozenset[str]
    count: int
    at_least: Severity
    categories: frozenset[Category]


@dataclass(frozen=True)
class RuleSet:
    version: str
    min_score: float
    hint_weight: float
    normaliser: Normaliser
    negation: Negation
    categories: tuple[CategoryRules, ...]
    modifiers: tuple[Modifier, ...]
    combinations: tuple[Combination, ...]

    @classmethod
    def from_spec(cls, spec: RuleFile) -> RuleSet:
        normaliser = Normaliser({k.casefold(): tuple(v.casefold().split()) for k, v in spec.abbreviations.items()})

        def phrases(texts: list[str]) -> tuple[Phrase, ...]:
            return tuple(Phrase.parse(t, normaliser) for t in texts)

        return cls(
            version=spec.version,
            min_score=spec.min_score,
            hint_weight=spec.hint.weight,
            normaliser=normaliser,
            negation=Negation(frozenset(normaliser.words(" ".join(spec.negation.words))), spec.negation.window,
                              frozenset(normaliser.words(" ".join(spec.negation.transparent)))),
            categories=tuple(
                CategoryRules(c.code, c.base_severity, tuple(
                    WeightedPhrase(Phrase.parse(p.phrase, normaliser), p.weight, p.at_least) for p in c.phrases))
                for c in spec.category),
            modifiers=tuple(Modifier(m.name, phrases(m.phrases), phrases(m.with_), m.at_least, frozenset(m.categories))
                            for m in spec.modifier),
            combinations=tuple(Combination(c.name, frozenset(c.of), c.count or len(c.of), c.at_least,
                                           frozenset(c.categories)) for c in spec.combination),
        )


def load_rules(path: Path) -> RuleSet:
    with path.open("rb") as handle:
        return RuleSet.from_spec(RuleFile.model_validate(tomllib.load(handle)))


@cache
def default_rules() -> RuleSet:
    """The packaged `rules.toml`, read once per process (the result is immutable)."""
    with files(__package__).joinpath("rules.toml").open("rb") as handle:
        return RuleSet.from_spec(RuleFile.model_validate(tomllib.load(handle)))
