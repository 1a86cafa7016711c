"""Normalising informal Indonesian: case, elongation, shorthand, and where sentences and clauses end."""

from __future__ import annotations

import pytest

from desk_triage.classifier.normalise import CLAUSE, SENTENCE, Normaliser, collapse

NORMALISER = Normaliser({"yg": ("yang",), "kades": ("kepala", "desa"), "gak": ("tidak",), "pppk": ("asn",)})


def test_lowercases_collapses_elongation_and_expands_shorthand() -> None:
    assert NORMALISER.words("Kades YG gaaak mauuu") == ("kepala", "desa", "yang", "tidak", "mau")


def test_shorthand_is_looked_up_before_collapsing_and_double_letters_stay() -> None:
    assert NORMALISER.words("PPPK saat maaf") == ("asn", "saat", "maaf")


@pytest.mark.parametrize(("word", "collapsed"), [("tolooong", "tolong"), ("bentrokkk", "bentrok"),
                                                 ("ancaaam", "ancam"), ("saat", "saat"), ("2000", "2000")])
def test_collapse_only_shortens_letters_written_three_times(word: str, collapsed: str) -> None:
    assert collapse(word) == collapsed


def test_sentences_and_clauses_are_marked_once_and_never_at_the_ends() -> None:
    words = NORMALISER.words("... Luka-luka, dua orang!! Lalu; pulang.\n\n")
    assert words == ("luka", "luka", CLAUSE, "dua", "orang", SENTENCE, "lalu", CLAUSE, "pulang")


def test_a_run_of_punctuation_with_a_sentence_end_is_a_sentence_break() -> None:
    assert NORMALISER.words("aman ,. lanjut") == ("aman", SENTENCE, "lanjut")


def test_unicode_is_folded() -> None:
    assert NORMALISER.words("ＫＡＤＥＳ Straße") == ("kepala", "desa", "strasse")


def test_empty_and_punctuation_only_texts_have_no_words() -> None:
    assert NORMALISER.words("") == ()
    assert NORMALISER.words(" .,!? ") == ()
