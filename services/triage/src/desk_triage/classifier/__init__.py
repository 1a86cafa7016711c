"""A first rule-based classifier of report text: a pure library with no I/O besides reading
its packaged rule file. A later, real classifier replaces it behind the same `classify`."""

from desk_triage.classifier.classify import Classification, classify
from desk_triage.classifier.rules import RuleSet, default_rules, load_rules

__all__ = ["Classification", "RuleSet", "classify", "default_rules", "load_rules"]
