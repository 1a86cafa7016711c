"""The figures the desk judges the classifier by (scikit-learn's implementations of the metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from desk_shared.contracts.taxonomy import Category, Severity

CATEGORIES: tuple[Category, ...] = tuple(Category)
SEVERITIES: tuple[Severity, ...] = tuple(Severity)


@dataclass(frozen=True)
class Decision:
    category: Category
    severity: Severity
    needs_review: bool = False
    urgent_check: bool = False


@dataclass(frozen=True)
class CategoryScore:
    category: Category
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    reports: int
    per_category: tuple[CategoryScore, ...]
    macro_f1: float
    accuracy: float
    confusion: tuple[tuple[int, ...], ...]
    """Rows: the labelled category; columns: the predicted one; both in CATEGORIES order."""
    severity_exact: float
    severity_within_one: float
    severity_confusion: tuple[tuple[int, ...], ...]
    urgent: int
    """Reports labelled tinggi or kritis."""
    urgent_caught: int
    """Of those, predicted tinggi or kritis: escalated to liaisons directly."""
    escalated: int
    """Reports predicted tinggi or kritis."""
    urgent_checked: int
    """Urgent reports that reached only the 'cek segera' queue (escalated there unless an officer says no)."""
    urgent_silent: int
    """Urgent reports neither escalated nor in the queue nor flagged for review."""
    checked: int
    """Reports sent to the 'cek segera' queue (urgent or not)."""
    flagged: int
    flagged_correct: int
    unflagged_correct: int

    @property
    def urgent_recall(self) -> float:
        return self.urgent_caught / self.urgent if self.urgent else 1.0

    @property
    def urgent_precision(self) -> float:
        """Of the reports escalated directly, the share labelled tinggi or kritis."""
        return self.urgent_caught / self.escalated if self.escalated else 1.0

    @property
    def urgent_reached(self) -> float:
        """Urgent reports escalated at once or sent to the 'cek segera' queue."""
        return (self.urgent_caught + self.urgent_checked) / self.urgent if self.urgent else 1.0


def evaluate(gold: Sequence[Decision], predicted: Sequence[Decision]) -> Evaluation:
    if len(gold) != len(predicted) or not gold:
        raise ValueError("need as many predictions as labelled reports, at least one")
    true_c = [g.category.value for g in gold]
    pred_c = [p.category.value for p in predicted]
    labels = [c.value for c in CATEGORIES]
    precision, recall, f1, support = precision_recall_fscore_support(true_c, pred_c, labels=labels, zero_division=0)
    per_category = tuple(CategoryScore(c, float(p), float(r), float(f), int(s))
                         for c, p, r, f, s in zip(CATEGORIES, precision, recall, f1, support, strict=True))
    present = [s for s in per_category if s.support]
    distances = [abs(g.severity.rank - p.severity.rank) for g, p in zip(gold, predicted, strict=True)]
    urgent = [(g, p) for g, p in zip(gold, predicted, strict=True) if g.severity.escalates]
    correct = [g.category is p.category for g, p in zip(gold, predicted, strict=True)]
    flagged = [p.needs_review for p in predicted]
    return Evaluation(
        reports=len(gold),
        per_category=per_category,
        macro_f1=sum(s.f1 for s in present) / len(present),
        accuracy=sum(correct) / len(gold),
        confusion=_matrix(true_c, pred_c, labels),
        severity_exact=distances.count(0) / len(gold),
        severity_within_one=sum(d <= 1 for d in distances) / len(gold),
        severity_confusion=_matrix([g.severity.value for g in gold], [p.severity.value for p in predicted],
                                   [s.value for s in SEVERITIES]),
        urgent=len(urgent),
        urgent_caught=sum(p.severity.escalates for _, p in urgent),
        escalated=sum(p.severity.escalates for p in predicted),
        urgent_checked=sum(not p.severity.escalates and p.urgent_check for _, p in urgent),
        urgent_silent=sum(not (p.severity.escalates or p.urgent_check or p.needs_review) for _, p in urgent),
        checked=sum(p.urgent_check and not p.severity.escalates for p in predicted),
        flagged=sum(flagged),
        flagged_correct=sum(c for c, f in zip(correct, flagged, strict=True) if f),
        unflagged_correct=sum(c for c, f in zip(correct, flagged, strict=True) if not f),
    )


def _matrix(true: list[str], predicted: list[str], labels: list[str]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in row) for row in confusion_matrix(true, predicted, labels=labels))


def kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa: agreement of two labellings beyond what chance would give."""
    return float(cohen_kappa_score(list(first), list(second)))
