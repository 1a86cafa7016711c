"""The classifier: category and severity of a report, each with a confidence, the evidence that
decided them, and whether a desk officer must review the decision. Pure and deterministic: the
same text, hint, rule set and model always give the same Classification."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier.model import LinearModel, Prediction, features
from desk_triage.classifier.rules import CategoryPhrase, DenialPhrase, ModifierPhrase, RuleSet
from desk_triage.classifier.severity import SeverityDecision, decide_severity

DISAGREEMENT = 0.5
"""A model this sure of another category than the one decided makes the decision worth a look."""


@dataclass(frozen=True)
class Classification:
    category: Category
    severity: Severity
    confidence: float
    """How sure the category is, 0..1."""
    severity_confidence: float
    urgent_check: bool
    """Urgency cannot be ruled out: a desk officer must confirm or dismiss it soon ('cek segera')."""
    needs_review: bool
    review_reasons: tuple[str, ...]
    evidence: tuple[str, ...]
    rule_set_version: str
    model_version: str | None


@dataclass(frozen=True)
class RuleEvidence:
    """What the rule phrases found in one text, before any decision."""

    scores: dict[Category, float]
    lines: dict[Category, tuple[str, ...]]
    at_least: dict[Category, Severity]
    modifiers: dict[int, str]
    """Modifier index -> the phrase that fired it (with its `with` phrase, if it needs one)."""
    denial: float
    denials: tuple[str, ...]
    negated: tuple[str, ...]


def classify(text: str, category_hint: Category | None, rules: RuleSet,
             model: LinearModel | None = None) -> Classification:
    """Classify a report's `text`; the agency's `category_hint` is one weighted signal."""
    words = rules.normaliser.words(text)
    found = collect(rules, rules.matcher.match(words))
    decision = rules.decision
    scores = dict(found.scores)
    evidence: list[str] = []
    if found.denial >= rules.denial.threshold and not _denial_overruled(found, rules):
        scores = {c: (v if c is Category.OTHER else v * rules.denial.damping) for c, v in scores.items()}
        scores[Category.OTHER] += rules.denial.weight
        evidence += found.denials
    if category_hint is not None and decision.hint_weight:
        scores[category_hint] += decision.hint_weight
    rule_best = _best(scores, rules.categories)
    prediction = model.predict(features(words, rules.root)) if model is not None else None
    combined = dict(scores)
    if prediction is not None:
        for category, p in prediction.category_probabilities.items():
            combined[category] += decision.model_weight * p
    fired = frozenset(rules.modifiers[i].name for i in found.modifiers)
    best = _precedence(_best(combined, rules.categories), scores, rules, evidence, fired)
    if scores[rule_best] < decision.min_score and (prediction is None or best is not prediction.category):
        best = Category.OTHER
    evidence = [*found.lines.get(best, ()), *evidence]
    if best is category_hint and decision.hint_weight:
        evidence.insert(len(found.lines.get(best, ())), f"{best}{decision.hint_weight:+g}:agency hint")
    if prediction is not None:
        p = prediction.category_probabilities[prediction.category]
        evidence.append(f"model:{prediction.category} {p:.2f} [{', '.join(prediction.category_reasons)}]")
    evidence += found.negated
    severity = decide_severity(best, found.at_least.get(best), found.modifiers, rules)
    severity = _urgency(best, severity, prediction, rules)
    evidence += severity.evidence
    check = _urgent_check(best, severity, prediction, found.modifiers, rules)
    if check:
        evidence.append(f"cek segera:{check}")
    confidence = _confidence(combined, best)
    reasons = _review_reasons(best, confidence, scores, rule_best, prediction, category_hint, severity, rules, fired)
    return Classification(
        category=best, severity=severity.severity, confidence=confidence,
        severity_confidence=severity.confidence, urgent_check=bool(check), needs_review=bool(reasons),
        review_reasons=reasons,
        evidence=tuple(evidence), rule_set_version=rules.version,
        model_version=model.version if model is not None else None)


def collect(rules: RuleSet, found: Mapping[int, bool]) -> RuleEvidence:
    """Add up what the phrases found: category scores, severity floors, modifiers, denial."""
    scores = dict.fromkeys(rules.categories, 0.0)
    lines: dict[Category, list[str]] = {c: [] for c in rules.categories}
    at_least: dict[Category, Severity] = {}
    required: dict[int, str] = {}
    withs: dict[int, str] = {}
    denial = 0.0
    denials: list[str] = []
    negated: list[str] = []
    phrases, effects = rules.matcher.phrases, rules.effects
    for index in sorted(found):
        effect = effects[index]
        if not found[index]:
            if not isinstance(effect, DenialPhrase):
                negated.append(f"negated:{phrases[index].text}")
        elif isinstance(effect, CategoryPhrase):
            scores[effect.category] += effect.weight
            lines[effect.category].append(effect.line)
            if effect.at_least is not None:
                known = at_least.get(effect.category)
                if known is None or effect.at_least.rank > known.rank:
                    at_least[effect.category] = effect.at_least
        elif isinstance(effect, ModifierPhrase):
            (required if effect.required else withs).setdefault(effect.modifier, phrases[index].text)
        else:
            denial += effect.weight
            denials.append(effect.line)
    modifiers = {}
    for index, text in required.items():
        if not rules.modifiers[index].needs_with:
            modifiers[index] = text
        elif index in withs:
            modifiers[index] = f"{text}+{withs[index]}"
    return RuleEvidence(scores, {c: tuple(v) for c, v in lines.items() if v}, at_least, modifiers, denial,
                        tuple(denials), tuple(dict.fromkeys(negated)))


def _denial_overruled(found: RuleEvidence, rules: RuleSet) -> bool:
    """A modifier of `denial.unless` fired: what is happening outweighs the debunk."""
    return any(rules.modifiers[i].name in rules.denial.unless for i in found.modifiers)


def _best(scores: dict[Category, float], order: tuple[Category, ...]) -> Category:
    """The highest score; on a tie the category listed first in the rule file."""
    return max(order, key=lambda c: scores[c])


def _precedence(best: Category, scores: dict[Category, float], rules: RuleSet, evidence: list[str],
                fired: frozenset[str]) -> Category:
    """The guidelines' decision rules that a higher total alone does not express, in order: state
    resources used in a campaign, then who acts (an ASN, village official or soldier/police
    officer acting for a candidate makes it their neutrality category, whatever the act)."""
    for rule in rules.precedence:
        if best not in rule.over or (rule.when and not fired & set(rule.when)):
            continue
        candidate = max(rule.categories, key=lambda c: scores[c])
        if scores[candidate] >= rule.min_score:
            evidence.append(f"precedence {rule.name}:{candidate} over {best}")
            best = candidate
    return best


def _urgency(category: Category, severity: SeverityDecision, prediction: Prediction | None,
             rules: RuleSet) -> SeverityDecision:
    """The model may raise a severity the rules left below tinggi (never for 'other', never down)."""
    if (prediction is None or category is Category.OTHER or severity.severity.escalates or severity.resolved
            or prediction.urgency < rules.decision.urgency_threshold):
        return severity
    line = f"model:urgent {prediction.urgency:.2f} [{', '.join(prediction.urgency_reasons)}]>=tinggi"
    return SeverityDecision(Severity.TINGGI, min(severity.confidence, prediction.urgency), (*severity.evidence, line),
                            raised_by_model=True)


def _urgent_check(category: Category, severity: SeverityDecision, prediction: Prediction | None,
                  modifiers: dict[int, str], rules: RuleSet) -> str | None:
    """Why urgency cannot be ruled out for a report the rules and model left below tinggi; None if it can."""
    if category is Category.OTHER or severity.severity.escalates:
        return None
    if prediction is not None and prediction.urgency >= rules.decision.check_threshold:
        return f"model urgency {prediction.urgency:.2f}"
    names = [rules.modifiers[i].name for i in sorted(modifiers)]
    cues = [name for name in names if name in rules.decision.check_modifiers]
    return f"modifier {', '.join(cues)}" if cues else None


def _confidence(combined: dict[Category, float], best: Category) -> float:
    """The winner's share of a softmax over all categories' totals (temperature 2): near 1 for
    clear evidence for one category, low when evidence is thin or split."""
    top = combined[best]
    total = sum(math.exp((v - top) / 2) for v in combined.values())
    return round(1 / total, 2)


def _review_reasons(best: Category, confidence: float, scores: dict[Category, float], rule_best: Category,
                    prediction: Prediction | None, hint: Category | None, severity: SeverityDecision,
                    rules: RuleSet, fired: frozenset[str]) -> tuple[str, ...]:
    """Why a desk officer must look at this decision (none: the machine's call can stand for now)."""
    decision = rules.decision
    reasons = []
    if confidence < decision.review_below:
        reasons.append("low_confidence")
    if scores[best] < decision.min_score:
        reasons.append("no_rule_evidence")
    elif best is not rule_best and best is not _precedence(rule_best, scores, rules, [], fired):
        reasons.append("model_overruled_rules")
    elif (prediction is not None and prediction.category is not best
          and prediction.category_probabilities[prediction.category] >= DISAGREEMENT):
        reasons.append("rules_and_model_disagree")
    if hint is not None and hint is not best:
        reasons.append("agency_hint_differs")
    if severity.raised_by_model:
        reasons.append("severity_raised_by_model")
    return tuple(reasons)
