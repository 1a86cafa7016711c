"""Phrase syntax and the one-pass matcher: wildcards, gaps, lists, roots, sentences, negation."""

from __future__ import annotations

import pytest

from desk_triage.classifier.matching import Matcher, Negation
from desk_triage.classifier.normalise import Normaliser
from desk_triage.classifier.phrases import parse_phrase
from desk_triage.classifier.stemming import RootFinder

NORMALISER = Normaliser({"kades": ("kepala", "desa"), "gak": ("tidak",)})
NEGATION = Negation(frozenset({"tidak", "tanpa", "bukan"}), 2, frozenset({"ada", "sampai", "terjadi"}))
LISTS = {"official": ("kepala desa", "camat"), "act": ("*ajak*", "bagi* amplop")}
ROOTS = RootFinder().root


def found(phrase: str, text: str) -> bool | None:
    """True: affirmed; False: only negated; None: absent."""
    matcher = Matcher([parse_phrase(phrase, NORMALISER, 3, LISTS, ROOTS)], NEGATION, ROOTS)
    return matcher.match(NORMALISER.words(text)).get(0)


def affirmed(phrase: str, text: str) -> bool:
    return found(phrase, text) is True


@pytest.mark.parametrize(("phrase", "text", "hit"), [
    ("*bakar*", "pembakaran posko", True), ("*bakar*", "bakar", True), ("bakar*", "membakar", False),
    ("*ancam", "diancam", True), ("*ancam", "ancaman", False), ("ancam", "mengancam", False),
    ("dipukul*", "pada pukul 10.00", False), ("dipukul*", "dipukuli warga", True),
    ("serangan fajar", "serangan  fajar", True), ("serangan fajar", "serangan, fajar", False),
])
def test_whole_words_and_wildcards(phrase: str, text: str, hit: bool) -> None:
    assert affirmed(phrase, text) is hit


def test_a_gap_allows_words_between_in_order_within_a_clause() -> None:
    assert affirmed("*bagi* .. amplop", "membagikan dua puluh amplop")
    assert not affirmed("*bagi* .. amplop", "membagikan satu dua tiga empat amplop")
    assert not affirmed("*bagi* .. amplop", "amplop dibagikan")
    assert not affirmed("*bagi* .. amplop", "membagikan kaos, amplop juga")


def test_an_inner_wildcard_joins_the_next_word_directly() -> None:
    assert affirmed("*bagi* uang", "membagikan uang")
    assert not affirmed("*bagi* uang", "membagikan banyak uang")


def test_lists_and_together_match_within_one_sentence_in_any_order() -> None:
    assert affirmed("@official ~ @act", "Kades Sukaratu bagi amplop paslon 1")
    assert affirmed("@official ~ @act", "Warga diajak memilih, katanya perintah camat")
    assert not affirmed("@official ~ @act", "Camat datang. Warga diajak memilih")


def test_roots_match_every_affixed_form() -> None:
    for text in ("menikam", "ditikam", "penikaman", "tikam"):
        assert affirmed("+tikam", f"pelaku {text} korban"), text
    assert not affirmed("+tikam", "tiket kampanye")
    assert affirmed("+keroyok .. warga", "mengeroyok dua warga")


def test_negation_skips_transparent_words_and_stops_at_a_break() -> None:
    assert found("kontak fisik", "tidak sampai terjadi kontak fisik") is False
    assert found("korban", "tidak ada yang lari, korban dua orang") is True
    assert found("korban", "bukan satu dua korban") is True
    assert found("korban", "bukan satu korban") is False


def test_an_affirmed_occurrence_wins_over_a_negated_one() -> None:
    assert affirmed("korban", "Tanpa korban. Ada korban lain di desa sebelah")


def test_negated_pieces_of_a_together_phrase_do_not_count() -> None:
    assert found("@official ~ @act", "Kades tidak mengajak siapa pun") is False


def test_phrases_are_normalised_like_text() -> None:
    assert affirmed("kades", "Kepala Desa itu")
    assert affirmed("gak ada korban", "tidak ada korban")


@pytest.mark.parametrize("phrase", ["", "ba*kar", "@nolist", "* *", "+ab"])
def test_bad_phrases_are_rejected(phrase: str) -> None:
    with pytest.raises(ValueError):
        parse_phrase(phrase, NORMALISER, 3, LISTS, ROOTS)


def test_many_phrases_in_one_pass() -> None:
    phrases = ["massa", "*bakar*", "kotak suara", "tps", "luka*"]
    matcher = Matcher([parse_phrase(p, NORMALISER, 3, LISTS, ROOTS) for p in phrases], NEGATION, ROOTS)
    result = matcher.match(NORMALISER.words("Massa membakar kotak suara di TPS 3, tidak ada yang luka"))
    assert {phrases[i]: f for i, f in result.items()} == {
        "massa": True, "*bakar*": True, "kotak suara": True, "tps": True, "luka*": False}
