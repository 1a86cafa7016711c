"""Normalisation, phrase matching and the rule file's checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from desk_triage.classifier.matching import Negation, Phrase, find
from desk_triage.classifier.normalise import Normaliser
from desk_triage.classifier.rules import RuleFile

NORMALISER = Normaliser({"yg": ("yang",), "kades": ("kepala", "desa"), "gak": ("tidak",), "pppk": ("asn",)})
NEGATION = Negation(frozenset({"tidak", "tanpa"}), 2, frozenset({"ada", "sampai"}))


def test_lowercases_collapses_elongation_and_expands_shorthand() -> None:
    assert NORMALISER.words("Kades YG gaaak mauuu") == ("kepala", "desa", "yang", "tidak", "mau")
    assert NORMALISER.words("PPPK massa") == ("asn", "massa")  # shorthand first; double letters kept


def test_clauses_split_on_punctuation_and_hyphens_split_words() -> None:
    assert NORMALISER.clauses("Luka-luka, dua orang. ") == [("luka", "luka"), ("dua", "orang")]


@pytest.mark.parametrize(("pattern", "word", "hit"), [
    ("*bakar*", "pembakaran", True), ("*bakar*", "bakar", True), ("bakar*", "membakar", False),
    ("*ancam", "diancam", True), ("*ancam", "ancaman", False), ("ancam", "ancam", True),
])
def test_wildcards(pattern: str, word: str, hit: bool) -> None:
    assert find(Phrase.parse(pattern, NORMALISER), [(word,)], NEGATION).affirmed is hit


def test_negation_skips_transparent_words() -> None:
    phrase = Phrase.parse("kontak fisik", NORMALISER)
    found = find(phrase, NORMALISER.clauses("tidak sampai ada kontak fisik"), NEGATION)
    assert (found.affirmed, found.negated) == (False, True)


def test_an_affirmed_occurrence_wins_over_a_negated_one() -> None:
    phrase = Phrase.parse("korban", NORMALISER)
    assert find(phrase, NORMALISER.clauses("tanpa korban. ada korban lain"), NEGATION).affirmed


def test_phrases_are_normalised_like_text() -> None:
    phrase = Phrase.parse("kades", NORMALISER)
    assert find(phrase, NORMALISER.clauses("Kepala Desa itu"), NEGATION).affirmed


def test_rule_file_rejects_unknown_keys_and_modifiers() -> None:
    base = {"version": "t", "min_score": 1, "hint": {"weight": 1}, "negation": {"words": ["tidak"], "window": 2},
            "category": [{"code": "other", "base_severity": "rendah"}]}
    RuleFile.model_validate(base)
    with pytest.raises(ValidationError):
        RuleFile.model_validate(base | {"categroy": []})
    with pytest.raises(ValidationError):
        RuleFile.model_validate(base | {"combination": [{"name": "x", "of": ["nope"], "at_least": "kritis"}]})
