"""The statistical model: two linear classifiers over a report's normalised words, trained on the
corpus's development part by `desk-triage build-model` (scikit-learn, at build time only) and
scored here from their JSON file with one numpy gather and sum (no scikit-learn at run time).

- `category`: a probability for each of the twelve categories, added to the rules' evidence;
- `urgency`: the probability that a report is tinggi or kritis, which may raise a severity the
  rules left lower (a missed kritis is the worst error this system can make).

A report's features are its words and their roots ("^tikam" for "ditikam", "menikam", "penikaman"):
a root lets a wording the development part never used count like the one it did. The file keeps,
for each feature, only its non-negligible weights; scoring adds up the rows of the few dozen
features a report has."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from desk_shared.contracts.taxonomy import Category
from desk_triage.classifier.normalise import BREAKS, Words
from desk_triage.classifier.phrases import Roots

FORMAT = "desk-triage-linear-3"
URGENT = "urgent"
ROOT = "^"
"""Marks a root feature, so "^tikam" never collides with the word "tikam"."""


def features(words: Words, root: Roots) -> Iterator[str]:
    """The report's normalised words and, marked, their roots. Shared by training and scoring.
    Measured on the development part's cross-validation: roots added 0.006 macro-F1; word pairs
    measured no better, at three times the features."""
    content = [word for word in words if word not in BREAKS]
    yield from content
    for word in content:
        yield ROOT + root(word)


Weights = dict[str, tuple[tuple[int, float], ...]]


@dataclass(frozen=True)
class LinearHead:
    """A softmax over `classes`; a binary head has two classes with all weights on the second.
    `weights` keeps a feature's non-negligible weights as (class index, weight) pairs."""

    classes: tuple[str, ...]
    intercepts: tuple[float, ...]
    weights: Weights

    def to_json(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "intercepts": [round(v, 4) for v in self.intercepts],
                "weights": {f: [[i, round(w, 4)] for i, w in pairs] for f, pairs in sorted(self.weights.items())}}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LinearHead:
        weights = {f: tuple((int(i), float(w)) for i, w in pairs) for f, pairs in raw["weights"].items()}
        return cls(tuple(raw["classes"]), tuple(float(v) for v in raw["intercepts"]), weights)


@dataclass(frozen=True)
class Prediction:
    category: Category
    category_probabilities: dict[Category, float]
    category_reasons: tuple[str, ...]
    urgency: float
    urgency_reasons: tuple[str, ...]


@dataclass(frozen=True)
class LinearModel:
    """Both heads side by side in one dense matrix (feature rows, the heads' classes as columns), so
    a report is scored with one gather and one sum."""

    version: str
    category: LinearHead
    urgency: LinearHead
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _matrix: np.ndarray = field(init=False, repr=False, compare=False)
    _intercepts: np.ndarray = field(init=False, repr=False, compare=False)
    _categories: tuple[Category, ...] = field(init=False, repr=False, compare=False)
    _urgent: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        heads = (self.category, self.urgency)
        names = sorted(set().union(*(h.weights for h in heads)))
        matrix = np.zeros((len(names), sum(len(h.classes) for h in heads)))
        offset = 0
        for head in heads:
            for row, name in enumerate(names):
                for index, weight in head.weights.get(name, ()):
                    matrix[row, offset + index] = weight
            offset += len(head.classes)
        object.__setattr__(self, "_rows", {name: row for row, name in enumerate(names)})
        object.__setattr__(self, "_names", tuple(names))
        object.__setattr__(self, "_matrix", matrix)
        object.__setattr__(self, "_intercepts", np.array([*self.category.intercepts, *self.urgency.intercepts]))
        object.__setattr__(self, "_categories", tuple(Category(c) for c in self.category.classes))
        object.__setattr__(self, "_urgent", self.urgency.classes.index(URGENT))

    def predict(self, present: Iterable[str], explain: int = 3) -> Prediction:
        """Score a report by the `features` present in it (repeats count once)."""
        rows = self._rows
        found = sorted(map(rows.__getitem__, rows.keys() & present))  # row order is name order: order-free sums
        weights = self._matrix[found]
        logits = (self._intercepts + weights.sum(axis=0)).tolist()
        n = len(self._categories)
        category, urgency = _softmax(logits[:n]), _softmax(logits[n:])
        best = category.index(max(category))
        urgent = self._urgent
        return Prediction(
            category=self._categories[best],
            category_probabilities=dict(zip(self._categories, category, strict=True)),
            category_reasons=self._strongest(weights[:, best], found, explain),
            urgency=urgency[urgent],
            urgency_reasons=self._strongest(weights[:, n + urgent], found, explain) if urgency[urgent] >= 0.5 else ())

    def _strongest(self, column: np.ndarray, found: list[int], n: int) -> tuple[str, ...]:
        """The features with the largest positive weights in `column`, strongest first (ties by name)."""
        order = np.argsort(-column, kind="stable")[:n]
        return tuple(self._names[found[i]] for i in order.tolist() if column[i] > 0)

    @classmethod
    def from_json(cls, data: bytes) -> LinearModel:
        raw = json.loads(data)
        if raw.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model file")
        return cls(raw["version"], LinearHead.from_json(raw["category"]), LinearHead.from_json(raw["urgency"]))


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def dump_model(version: str, category: LinearHead, urgency: LinearHead, built_from: dict[str, object]) -> bytes:
    """The model file's bytes: sorted keys and rounded weights, so a rebuild is byte-identical.
    `built_from` records what it was trained on (corpus digest, rule set, parameters)."""
    body = {"format": FORMAT, "version": version, "built_from": built_from, "category": category.to_json(),
            "urgency": urgency.to_json()}
    return (json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()


def load_model(path: Path) -> LinearModel:
    return LinearModel.from_json(path.read_bytes())


@cache
def default_model() -> LinearModel | None:
    """The packaged `model.json`, or None when none has been built."""
    resource = files(__package__).joinpath("model.json")
    return LinearModel.from_json(resource.read_bytes()) if resource.is_file() else None

