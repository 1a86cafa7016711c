"""The statistical model: its features, scoring from the JSON file, and how it joins the rules."""

from __future__ import annotations

import json

from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier import classify, default_rules
from desk_triage.classifier.model import URGENT, LinearHead, LinearModel, dump_model, features
from desk_triage.classifier.normalise import Normaliser

CATEGORIES = [c.value for c in Category]


def tiny_model(category_word: str, category: Category, urgent_word: str) -> LinearModel:
    """A hand-made model: `category_word` points to `category`, `urgent_word` to urgency."""
    index = CATEGORIES.index(category.value)
    heads = (LinearHead(tuple(CATEGORIES), (0.0,) * len(CATEGORIES), {category_word: ((index, 6.0),)}),
             LinearHead(("not_urgent", URGENT), (0.0, -3.0), {urgent_word: ((1, 6.0),)}))
    return LinearModel.from_json(dump_model("test-1", *heads, {"reports": 0}))


def test_features_are_the_words_without_breaks_and_their_roots() -> None:
    words = Normaliser().words("Massa datang, membakar posko. Lari")
    assert list(features(words, default_rules().root)) == [
        "massa", "datang", "membakar", "posko", "lari", "^massa", "^datang", "^bakar", "^posko", "^lari"]


def test_scoring_is_a_softmax_over_the_weights_found() -> None:
    model = tiny_model("amplop", Category.MONEY_POLITICS, "genting")
    prediction = model.predict(("ada", "amplop", "genting"))
    assert prediction.category is Category.MONEY_POLITICS
    assert prediction.category_probabilities[Category.MONEY_POLITICS] > 0.9
    assert abs(sum(prediction.category_probabilities.values()) - 1) < 1e-9
    assert prediction.urgency > 0.9 and prediction.urgency_reasons == ("genting",)
    assert model.predict(("tenang",)).urgency < 0.1


def test_the_file_round_trips_byte_for_byte() -> None:
    model = tiny_model("amplop", Category.MONEY_POLITICS, "genting")
    again = dump_model(model.version, model.category, model.urgency, {"reports": 0})
    assert LinearModel.from_json(again) == model
    assert json.loads(again)["format"] == "desk-triage-linear-3"


def test_the_model_can_raise_severity_to_tinggi_and_says_so() -> None:
    rules = default_rules()
    text = "Adu mulut antar pendukung paslon di pasar, suasana genting."
    plain = classify(text, None, rules)
    raised = classify(text, None, rules, tiny_model("zzz", Category.OTHER, "genting"))
    assert not plain.severity.escalates
    assert raised.severity is Severity.TINGGI
    assert any(e.startswith("model:urgent") for e in raised.evidence)
    assert "severity_raised_by_model" in raised.review_reasons and raised.needs_review
    assert raised.model_version == "test-1" and plain.model_version is None


def test_the_model_never_raises_other_nor_lowers_a_severity() -> None:
    rules, model = default_rules(), tiny_model("zzz", Category.OTHER, "genting")
    assert classify("Situasi aman terkendali, genting tidak ada.", None, rules, model).severity is Severity.RENDAH
    critical = "Massa membakar kotak suara di TPS 03, dua petugas KPPS luka-luka."
    assert classify(critical, None, rules, model).severity is Severity.KRITIS


def test_the_model_adds_to_the_rules_as_one_weighted_signal() -> None:
    rules = default_rules()
    text = "Mohon ditindaklanjuti kejadian di desa kami."
    assert classify(text, None, rules).category is Category.OTHER
    with_model = classify(text, None, rules, tiny_model("ditindaklanjuti", Category.LOGISTICS, "zzz"))
    assert with_model.category is Category.LOGISTICS
    assert any(e.startswith("model:logistics") for e in with_model.evidence)


