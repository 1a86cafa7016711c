"""The classifier: category, severity and confidence of a report's text. Pure and deterministic."""

from __future__ import annotations

from dataclasses import dataclass

from desk_shared.taxonomy import Category, Severity
from desk_triage.classifier.matching import Phrase, find
from desk_triage.classifier.normalise import Clause
from desk_triage.classifier.rules import CategoryRules, RuleSet, default_rules


@dataclass(frozen=True)
class Classification:
    category: Category
    severity: Severity
    confidence: float
    evidence: tuple[str, ...]
    rule_set_version: str


@dataclass(frozen=True)
class _Score:
    rules: CategoryRules
    total: float
    at_least: Severity | None
    evidence: tuple[str, ...]


def classify(text: str, category_hint: Category | None = None, rules: RuleSet | None = None) -> Classification:
    """Classify `text`; the agency's `category_hint` is one weighted signal among the phrases."""
    rules = rules or default_rules()
    clauses = rules.normaliser.clauses(text)
    scores = [_score(c, clauses, rules, category_hint) for c in rules.categories]
    ranked = sorted(scores, key=lambda s: -s.total)  # stable: file order breaks ties
    best = ranked[0]
    runner_up = ranked[1].total if len(ranked) > 1 else 0.0
    if best.total < rules.min_score:
        best = next(s for s in scores if s.rules.category is Category.OTHER)
    category = best.rules.category
    severity, raised_by = _severity(best, clauses, rules)
    evidence = [*best.evidence, *_negated_evidence(clauses, rules), *raised_by]
    return Classification(category=category, severity=severity, confidence=_confidence(best.total, runner_up),
                          evidence=tuple(evidence), rule_set_version=rules.version)


def _score(category: CategoryRules, clauses: list[Clause], rules: RuleSet, hint: Category | None) -> _Score:
    total = 0.0
    at_least: Severity | None = None
    evidence: list[str] = []
    for weighted in category.phrases:
        if find(weighted.phrase, clauses, rules.negation).affirmed:
            total += weighted.weight
            evidence.append(f"{category.category}+{weighted.weight:g}:{weighted.phrase.text}")
            at_least = _higher(at_least, weighted.at_least)
    if hint is category.category and rules.hint_weight:
        total += rules.hint_weight
        evidence.append(f"{category.category}+{rules.hint_weight:g}:agency hint")
    return _Score(category, total, at_least, tuple(evidence))


def _severity(best: _Score, clauses: list[Clause], rules: RuleSet) -> tuple[Severity, list[str]]:
    category = best.rules.category
    severity = _higher(best.rules.base_severity, best.at_least) or best.rules.base_severity
    evidence: list[str] = []
    fired: set[str] = set()
    for modifier in rules.modifiers:
        hit = _first(modifier.phrases, clauses, rules)
        also = _first(modifier.with_, clauses, rules) if modifier.with_ else ""
        if hit is None or also is None:
            continue
        if also:
            hit = f"{hit}+{also}"
        fired.add(modifier.name)
        if modifier.at_least and (not modifier.categories or category in modifier.categories):
            evidence.append(f"modifier {modifier.name}:{hit}>={modifier.at_least}")
            severity = _higher(severity, modifier.at_least) or severity
        else:
            evidence.append(f"modifier {modifier.name}:{hit}")
    for combination in rules.combinations:
        applies = not combination.categories or category in combination.categories
        if applies and len(combination.of & fired) >= combination.count:
            evidence.append(f"combination {combination.name}>={combination.at_least}")
            severity = _higher(severity, combination.at_least) or severity
    return severity, evidence


def _first(phrases: tuple[Phrase, ...], clauses: list[Clause], rules: RuleSet) -> str | None:
    return next((p.text for p in phrases if find(p, clauses, rules.negation).affirmed), None)


def _negated_evidence(clauses: list[Clause], rules: RuleSet) -> list[str]:
    """Phrases seen only after a negation ("tidak ada korban"), so a reviewer sees why they did not count."""
    seen: dict[str, None] = {}
    phrases = [p.phrase for c in rules.categories for p in c.phrases]
    phrases += [p for m in rules.modifiers for p in m.phrases]
    for phrase in phrases:
        found = find(phrase, clauses, rules.negation)
        if found.negated and not found.affirmed:
            seen[f"negated:{phrase.text}"] = None
    return list(seen)


def _higher(a: Severity | None, b: Severity | None) -> Severity | None:
    if a is None or b is None:
        return a or b
    return a if a.rank >= b.rank else b


def _confidence(best: float, runner_up: float) -> float:
    """Grows with the winner's evidence and its margin over the runner-up; 0 without evidence."""
    if best <= 0:
        return 0.0
    return round(min(1.0, (best - runner_up / 2) / (best + 2.0)), 2)
