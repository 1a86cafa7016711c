"""The rule set: read from a reviewed TOML file (`rules.toml` in this package), checked strictly
(a typo in a key is an error, not a silently ignored rule) and compiled into one matcher.

The recorded version is the file's declared `version` plus the first hex digits of its SHA-256,
so an edit that forgot to bump the version is still told apart in every decision."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier.matching import Matcher, Negation
from desk_triage.classifier.normalise import Normaliser
from desk_triage.classifier.phrases import Phrase, Roots, parse_phrase
from desk_triage.classifier.stemming import RootFinder


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionSpec(_Strict):
    min_score: float = Field(gt=0, description="Below this much rule evidence (and no confident model), 'other'.")
    hint_weight: float = Field(ge=0)
    model_weight: float = Field(ge=0, description="The model's probability for a category counts this much.")
    review_below: float = Field(ge=0, le=1, description="Confidence below which a desk officer must review.")
    urgency_threshold: float = Field(gt=0, le=1, description="The model's probability of tinggi/kritis at which "
                                                             "a lower severity is raised to tinggi.")
    gap: int = Field(3, ge=0, description="Words allowed where a phrase says '..'.")
    check_threshold: float = Field(1.0, gt=0, le=1, description="The model's probability of tinggi/kritis at which "
                                                                "a report left lower goes to the 'cek segera' queue.")
    check_modifiers: list[str] = Field([], description="Modifiers whose firing alone sends a report left below "
                                                       "tinggi to the 'cek segera' queue.")


class NegationSpec(_Strict):
    words: list[str]
    window: int = Field(ge=1)
    transparent: list[str] = []

    @model_validator(mode="after")
    def _single_words(self) -> NegationSpec:
        if several := [w for w in self.words + self.transparent if len(w.split()) != 1]:
            raise ValueError(f"negation words are single words, not {several}")
        return self


class PhraseSpec(_Strict):
    phrase: str
    weight: float
    at_least: Severity | None = None

    @model_validator(mode="after")
    def _non_zero(self) -> PhraseSpec:
        if self.weight == 0:
            raise ValueError(f"phrase {self.phrase!r}: a weight of 0 does nothing")
        return self


class DenialSpec(_Strict):
    threshold: float = Field(gt=0, description="Denial phrases must add up to this much.")
    weight: float = Field(ge=0, description="Added to 'other' when a denial is found.")
    damping: float = Field(ge=0, le=1, description="Every other category's rule score is multiplied by this.")
    phrases: list[PhraseSpec]
    unless: list[str] = Field([], description="Modifiers that keep a report from being read as a denial (a crowd "
                                              "gathering over a debunked claim is not cleared up).")


class PrecedenceSpec(_Strict):
    name: str
    categories: list[Category] = Field(min_length=1)
    min_score: float = Field(gt=0)
    over: list[Category] = Field(min_length=1)
    when: list[str] = Field([], description="Only when one of these modifiers fired (none: always).")


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
    lowers: bool = Field(False, description="Over and handled: an escalating severity goes one level down ...")
    unless: list[str] = Field([], description="... unless one of these modifiers fired (a weapon, an injury).")


class CombinationSpec(_Strict):
    name: str
    of: list[str] = Field(min_length=1)
    count: int | None = Field(None, ge=1)
    at_least: Severity
    categories: list[Category] = []


class RuleFile(_Strict):
    version: str = Field(min_length=1)
    decision: DecisionSpec
    negation: NegationSpec
    denial: DenialSpec
    precedence: list[PrecedenceSpec] = []
    replacements: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    category: list[CategorySpec]
    modifier: list[ModifierSpec] = []
    combination: list[CombinationSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> RuleFile:
        codes = [c.code for c in self.category]
        if sorted(codes) != sorted(Category):
            raise ValueError("list every category exactly once")
        names = [m.name for m in self.modifier]
        if len(set(names)) != len(names):
            raise ValueError("modifier names must be unique")
        for combination in self.combination:
            if unknown := set(combination.of) - set(names):
                raise ValueError(f"combination {combination.name} names unknown modifiers {sorted(unknown)}")
        for modifier in self.modifier:
            if unknown := set(modifier.unless) - set(names):
                raise ValueError(f"modifier {modifier.name}: `unless` names unknown modifiers {sorted(unknown)}")
            if modifier.unless and not modifier.lowers:
                raise ValueError(f"modifier {modifier.name}: `unless` is only for modifiers that lower")
        for rule in self.precedence:
            if unknown := set(rule.when) - set(names):
                raise ValueError(f"precedence {rule.name}: `when` names unknown modifiers {sorted(unknown)}")
        if unknown := set(self.denial.unless) - set(names):
            raise ValueError(f"denial.unless names unknown modifiers {sorted(unknown)}")
        if unknown := set(self.decision.check_modifiers) - set(names):
            raise ValueError(f"decision.check_modifiers names unknown modifiers {sorted(unknown)}")
        return self


# ----------------------------------------------------------------------------- compiled
@dataclass(frozen=True, slots=True)
class CategoryPhrase:
    category: Category
    weight: float
    at_least: Severity | None
    line: str
    """How it shows in the evidence: "violence+3.5:dipukul*"."""


@dataclass(frozen=True, slots=True)
class ModifierPhrase:
    modifier: int
    required: bool
    """True for the modifier's own phrases, False for its `with` phrases."""


@dataclass(frozen=True, slots=True)
class DenialPhrase:
    weight: float
    line: str


Effect = CategoryPhrase | ModifierPhrase | DenialPhrase


@dataclass(frozen=True)
class Modifier:
    name: str
    needs_with: bool
    at_least: Severity | None
    categories: frozenset[Category]
    lowers: bool = False
    unless: frozenset[str] = frozenset()

    def applies_to(self, category: Category) -> bool:
        """Listed categories, else every category but 'other' (a clearing-up report stays low)."""
        return category in self.categories if self.categories else category is not Category.OTHER


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
    decision: DecisionSpec
    denial: DenialSpec
    precedence: tuple[PrecedenceSpec, ...]
    normaliser: Normaliser
    matcher: Matcher
    effects: tuple[Effect, ...]
    """What each of the matcher's phrases does, by phrase index."""
    categories: tuple[Category, ...]
    """In the file's order, which breaks ties."""
    base_severity: dict[Category, Severity]
    modifiers: tuple[Modifier, ...]
    combinations: tuple[Combination, ...]
    root: Roots
    """A word's Indonesian root (memoised), for phrases that ask for one and for the model."""

    @classmethod
    def from_spec(cls, spec: RuleFile, digest: str) -> RuleSet:
        normaliser = Normaliser({k.casefold(): tuple(v.casefold().split())
                                 for k, v in spec.replacements.items()})
        gap = spec.decision.gap
        lists = {name: tuple(items) for name, items in spec.lists.items()}
        roots = RootFinder().root
        phrases: list[Phrase] = []
        effects: list[Effect] = []

        def add(text: str, effect: Effect) -> None:
            phrases.append(parse_phrase(text, normaliser, gap, lists, roots))
            effects.append(effect)

        for category in spec.category:
            for p in category.phrases:
                line = f"{category.code}{p.weight:+g}:{p.phrase}"
                add(p.phrase, CategoryPhrase(category.code, p.weight, p.at_least, line))
        for index, modifier in enumerate(spec.modifier):
            for text in modifier.phrases:
                add(text, ModifierPhrase(index, required=True))
            for text in modifier.with_:
                add(text, ModifierPhrase(index, required=False))
        for p in spec.denial.phrases:
            add(p.phrase, DenialPhrase(p.weight, f"denial {p.weight:+g}:{p.phrase}"))
        negation = Negation(frozenset(normaliser.words(" ".join(spec.negation.words))), spec.negation.window,
                            frozenset(normaliser.words(" ".join(spec.negation.transparent))))
        return cls(
            version=f"{spec.version}+{digest[:8]}",
            decision=spec.decision,
            denial=spec.denial,
            precedence=tuple(spec.precedence),
            normaliser=normaliser,
            matcher=Matcher(phrases, negation, roots),
            effects=tuple(effects),
            categories=tuple(c.code for c in spec.category),
            base_severity={c.code: c.base_severity for c in spec.category},
            modifiers=tuple(Modifier(m.name, bool(m.with_), m.at_least, frozenset(m.categories), m.lowers,
                                     frozenset(m.unless))
                            for m in spec.modifier),
            combinations=tuple(Combination(c.name, frozenset(c.of), c.count or len(c.of), c.at_least,
                                           frozenset(c.categories)) for c in spec.combination),
            root=roots,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RuleSet:
        spec = RuleFile.model_validate(tomllib.loads(data.decode("utf-8")))
        return cls.from_spec(spec, hashlib.sha256(data).hexdigest())


def load_rules(path: Path) -> RuleSet:
    return RuleSet.from_bytes(path.read_bytes())


@cache
def default_rules() -> RuleSet:
    """The packaged `rules.toml`, read once per process (the result is immutable)."""
    return RuleSet.from_bytes(files(__package__).joinpath("rules.toml").read_bytes())
