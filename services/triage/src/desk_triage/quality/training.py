"""Building the statistical model from the development part (`desk-triage build-model`).

Reproducible: the same corpus, rule set (its normalisation) and parameters give a byte-identical
file; its version is a hash of its contents, so a decision names exactly the weights it used."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from desk_triage.classifier.model import URGENT, LinearHead, LinearModel, dump_model, features
from desk_triage.classifier.rules import RuleSet
from desk_triage.quality.corpus import LabelledReport, dump_part

NOT_URGENT = "not_urgent"


@dataclass(frozen=True)
class TrainingParameters:
    category_c: float = 4.0
    """Inverse regularisation strength of the category head's logistic regression."""
    urgency_c: float = 1.0
    """The same for the urgency head (smoother: it must generalise to unseen wordings)."""
    min_df: int = 2
    """A feature must occur in this many reports (keeps place and person names out)."""
    prune: float = 0.05
    """Weights smaller than this are dropped from the file (they barely move a decision)."""


PARAMETERS = TrainingParameters()


def train(reports: Sequence[LabelledReport], rules: RuleSet, params: TrainingParameters = PARAMETERS) -> bytes:
    """The model file's bytes, trained on `reports` with the rule set's normalisation."""
    vectorizer = CountVectorizer(analyzer=lambda text: list(features(rules.normaliser.words(text), rules.root)),
                                 binary=True, min_df=params.min_df)
    matrix = vectorizer.fit_transform([r.text for r in reports])
    names = [str(n) for n in vectorizer.get_feature_names_out()]
    category = LogisticRegression(C=params.category_c, max_iter=5000, class_weight="balanced")
    category.fit(matrix, [r.category.value for r in reports])
    urgency = LogisticRegression(C=params.urgency_c, max_iter=5000, class_weight="balanced")
    urgency.fit(matrix, [URGENT if r.severity.escalates else NOT_URGENT for r in reports])
    if list(urgency.classes_) != [NOT_URGENT, URGENT]:
        raise ValueError("the urgency head needs both urgent and other reports")
    heads = (_head([str(c) for c in category.classes_], category, names, params.prune),
             _head([NOT_URGENT, URGENT], urgency, names, params.prune))
    built_from = {"reports": len(reports), "corpus_sha256": hashlib.sha256(dump_part(reports).encode()).hexdigest(),
                  "rule_set": rules.version, "parameters": asdict(params)}
    digest = hashlib.sha256(dump_model("", *heads, built_from)).hexdigest()
    return dump_model(f"lr-{digest[:12]}", *heads, built_from)


def trained(reports: Sequence[LabelledReport], rules: RuleSet, params: TrainingParameters = PARAMETERS) -> LinearModel:
    return LinearModel.from_json(train(reports, rules, params))


def _head(classes: list[str], fitted: Any, names: list[str], prune: float) -> LinearHead:
    """A head from a fitted logistic regression; a binary one has a single row of weights, for classes[1]."""
    rows = list(range(len(classes))) if len(fitted.coef_) == len(classes) else [1]
    intercepts = [0.0] * len(classes)
    for row, index in enumerate(rows):
        intercepts[index] = float(fitted.intercept_[row])
    weights: dict[str, tuple[tuple[int, float], ...]] = {}
    for column, name in enumerate(names):
        pairs = tuple((index, float(fitted.coef_[row, column])) for row, index in enumerate(rows)
                      if abs(fitted.coef_[row, column]) >= prune)
        if pairs:
            weights[name] = pairs
    return LinearHead(tuple(classes), tuple(intercepts), weights)
