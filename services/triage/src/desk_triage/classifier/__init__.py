"""The report classifier: a plain library with no I/O besides reading its packaged rule file and
model. Rules (`rules.toml`, reviewable) decide with evidence; the model (`model.json`, built by
`desk-triage build-model`) adds recall where the rules' phrases fall short."""

from desk_triage.classifier.classify import Classification, classify
from desk_triage.classifier.model import LinearModel, default_model, load_model
from desk_triage.classifier.rules import RuleSet, default_rules, load_rules

__all__ = ["Classification", "LinearModel", "RuleSet", "classify", "default_model", "default_rules", "load_model",
           "load_rules"]
