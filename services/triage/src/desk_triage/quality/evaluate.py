"""`desk-triage evaluate`: the classifier on the corpus's test part, and on its development part
with cross-validation of the model (each fold's model never saw the reports it classifies)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

from desk_shared.contracts.taxonomy import Category
from desk_triage.classifier import LinearModel, RuleSet, classify
from desk_triage.quality.corpus import TEST_PARTS, LabelledReport, Labelling, load_labellings, load_part, load_training
from desk_triage.quality.metrics import CATEGORIES, SEVERITIES, Decision, Evaluation, evaluate, kappa
from desk_triage.quality.training import trained

FOLDS = 5

GOALS = {"macro-F1": 0.92, "urgent recall": 0.97, "urgent precision": 0.75, "urgent silent": 0}
"""The new test part's goals (issue 16). Urgent recall counts the urgent reports escalated at once
and those sent to the 'cek segera' queue (escalated there unless a desk officer says no); precision
is of the direct escalations; 'urgent silent' counts urgent reports neither escalated, queued nor
flagged, and must be zero. The first test part (issue 10's labels) is reported beside it."""


def gold(reports: Sequence[LabelledReport]) -> list[Decision]:
    return [Decision(r.category, r.severity) for r in reports]


def predict(reports: Sequence[LabelledReport], rules: RuleSet, model: LinearModel | None) -> list[Decision]:
    decisions = []
    for report in reports:
        result = classify(report.text, report.hint, rules, model)
        decisions.append(Decision(result.category, result.severity, result.needs_review, result.urgent_check))
    return decisions


def cross_validated(reports: Sequence[LabelledReport], rules: RuleSet, folds: int = FOLDS) -> list[Decision]:
    """Every report classified by a model trained on the other folds (stratified, fixed seed)."""
    predicted: list[Decision | None] = [None] * len(reports)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_rows, test_rows in splitter.split(list(reports), [r.category.value for r in reports]):
        model = trained([reports[i] for i in train_rows], rules)
        for i, decision in zip(test_rows, predict([reports[i] for i in test_rows], rules, model), strict=True):
            predicted[i] = decision
    return [d for d in predicted if d is not None]


@dataclass(frozen=True)
class Agreement:
    reports: int
    category_kappa: float
    severity_kappa: float
    category_agreed: int
    severity_agreed: int
    reworded: int


def agreement(labellings: Sequence[Labelling]) -> Agreement:
    return Agreement(
        reports=len(labellings),
        category_kappa=kappa([x.a_category for x in labellings], [x.b_category for x in labellings]),
        severity_kappa=kappa([x.a_severity for x in labellings], [x.b_severity for x in labellings]),
        category_agreed=sum(x.a_category is x.b_category for x in labellings),
        severity_agreed=sum(x.a_severity is x.b_severity for x in labellings),
        reworded=sum(x.settled != "agreed" for x in labellings),
    )


def report(directory: Path, rules: RuleSet, model: LinearModel | None, cross_validate: bool = True) -> tuple[str, bool]:
    """The whole evaluation as text, and whether the first test part meets every goal."""
    sections = [f"rule set {rules.version}, model {model.version if model else 'none'}"]
    met: list[tuple[str, float, float, bool]] = []
    for index, part in enumerate(TEST_PARTS):
        reports = load_part(directory, part.reports)
        result = evaluate(gold(reports), predict(reports, rules, model))
        sections.append(render(f"TEST {part.name} ({len(reports)} reports; {part.about})", result, brief=index > 0))
        sections.append(render_agreement(agreement(load_labellings(directory, part.labellings))))
        if index == 0:
            met = goals_met(result)
            sections.append(f"goals on test {part.name}: " + ", ".join(
                f"{name} {value:g} {'<=' if ok else '>'} {goal}" if name == "urgent silent"
                else f"{name} {value:.3f} {'>=' if ok else '<'} {goal}" for name, value, goal, ok in met))
    dev = load_training(directory)
    sections.append(render(f"DEV part ({len(dev)} reports with the retired test parts 2, 3 and 4; rules were written "
                           "on it, the shipped model trained on it)", evaluate(gold(dev), predict(dev, rules, model)),
                           brief=True))
    if model is not None and cross_validate:
        sections.append(render(f"DEV part, {FOLDS}-fold cross-validation of the model (rules as shipped)",
                               evaluate(gold(dev), cross_validated(dev, rules)), brief=True))
    return "\n\n".join(sections) + "\n", all(ok for *_, ok in met)


def goals_met(result: Evaluation) -> list[tuple[str, float, float, bool]]:
    values = {"macro-F1": result.macro_f1, "urgent recall": result.urgent_reached,
              "urgent precision": result.urgent_precision, "urgent silent": result.urgent_silent}
    return [(name, values[name], goal, values[name] <= goal if name == "urgent silent" else values[name] >= goal)
            for name, goal in GOALS.items()]


def render(title: str, result: Evaluation, brief: bool = False) -> str:
    lines = [title, "=" * len(title), f"{'category':<28} {'prec':>5} {'rec':>5} {'F1':>5} {'n':>4}"]
    lines += [f"{s.category.value:<28} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f} {s.support:4d}"
              for s in result.per_category]
    lines += [
        f"macro-F1 {result.macro_f1:.3f}   accuracy {result.accuracy:.3f}",
        f"severity exact {result.severity_exact:.3f}   within one {result.severity_within_one:.3f}   "
        f"urgent recall {result.urgent_recall:.3f} ({result.urgent_caught}/{result.urgent} tinggi+kritis "
        "predicted tinggi or kritis)",
        f"urgent precision {result.urgent_precision:.3f} ({result.urgent_caught}/{result.escalated} escalated were "
        f"urgent); urgent only in the 'cek segera' queue {result.urgent_checked} (with them: urgent recall "
        f"{result.urgent_reached:.3f}; the queue holds {result.checked} reports); urgent neither escalated nor "
        f"queued nor flagged {result.urgent_silent}",
        f"needs_review: {result.flagged} flagged ({_share(result.flagged_correct, result.flagged)} of them right); "
        f"{_share(result.unflagged_correct, result.reports - result.flagged)} of the unflagged right",
    ]
    if not brief:
        lines += ["", "confusion (rows: label, columns: predicted)", _grid(CATEGORIES, result.confusion), "",
                  "severity confusion (rows: label, columns: predicted)", _grid(SEVERITIES, result.severity_confusion)]
    return "\n".join(lines)


def render_agreement(a: Agreement) -> str:
    return (f"Test labels: two independent labellings of {a.reports} reports\n"
            f"category: Cohen's kappa {a.category_kappa:.3f} ({a.category_agreed}/{a.reports} agreed); "
            f"severity: Cohen's kappa {a.severity_kappa:.3f} ({a.severity_agreed}/{a.reports} agreed); "
            f"{a.reworded} disagreements settled (by rewording, or by a third labeller)")


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _grid(labels: Sequence[Category] | Sequence[object], rows: tuple[tuple[int, ...], ...]) -> str:
    short = [str(label)[:6] for label in labels]
    out = [" " * 8 + " ".join(f"{s:>6}" for s in short)]
    out += [f"{s:<8}" + " ".join(f"{v:6d}" if v else f"{'.':>6}" for v in row)
            for s, row in zip(short, rows, strict=True)]
    return "\n".join(out)
