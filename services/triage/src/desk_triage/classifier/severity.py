"""Severity: the category's base level, raised (never lowered) by what the report says happened —
weapons, injuries, fire, crowds, threats to election officials, a TPS, voting day."""

from __future__ import annotations

from dataclasses import dataclass

from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier.rules import RuleSet

EXPLICIT_CONFIDENCE = 0.85
"""Severity raised by named evidence (a weapon, an injury): the rule says why."""
BASE_CONFIDENCE = 0.6
"""Severity left at the category's usual level: nothing in the text raised it."""


@dataclass(frozen=True)
class SeverityDecision:
    severity: Severity
    confidence: float
    evidence: tuple[str, ...]
    raised_by_model: bool = False
    resolved: bool = False
    """The report says it is over and handled: the model does not raise it either."""


LOWER = {Severity.KRITIS: Severity.TINGGI, Severity.TINGGI: Severity.SEDANG, Severity.SEDANG: Severity.RENDAH,
         Severity.RENDAH: Severity.RENDAH}


def higher(a: Severity, b: Severity | None) -> Severity:
    return b if b is not None and b.rank > a.rank else a


def decide_severity(category: Category, phrase_at_least: Severity | None, modifiers: dict[int, str],
                    rules: RuleSet) -> SeverityDecision:
    """`modifiers`: the index of every modifier that fired, with the phrase that fired it."""
    base = rules.base_severity[category]
    severity = higher(base, phrase_at_least)
    evidence = [f"severity:{category} base {base}"]
    if phrase_at_least is not None and phrase_at_least.rank > base.rank:
        evidence.append(f"severity:phrase>={phrase_at_least}")
    fired: set[str] = set()
    for index, hit in sorted(modifiers.items()):
        modifier = rules.modifiers[index]
        fired.add(modifier.name)
        if modifier.at_least is not None and modifier.applies_to(category):
            evidence.append(f"modifier {modifier.name}:{hit}>={modifier.at_least}")
            severity = higher(severity, modifier.at_least)
        else:
            evidence.append(f"modifier {modifier.name}:{hit}")
    for combination in rules.combinations:
        applies = category in combination.categories if combination.categories else category is not Category.OTHER
        if applies and len(combination.of & fired) >= combination.count:
            evidence.append(f"combination {combination.name}>={combination.at_least}")
            severity = higher(severity, combination.at_least)
    lowering = [rules.modifiers[i] for i in sorted(modifiers) if rules.modifiers[i].lowers
                and rules.modifiers[i].applies_to(category) and not (rules.modifiers[i].unless & fired)]
    resolved = bool(lowering)
    if resolved and severity.escalates:
        severity = LOWER[severity]
        evidence.append(f"modifier {lowering[0].name}: over and handled, one level lower ({severity})")
    confidence = EXPLICIT_CONFIDENCE if severity.rank > base.rank else BASE_CONFIDENCE
    return SeverityDecision(severity, confidence, tuple(evidence), resolved=resolved)
