"""Indonesian root words (kata dasar): "menikam", "ditikam", "penikaman" -> "tikam".

PySastrawi's dictionary-based stemmer (Nazief-Adriani with its later refinements) does the work;
it is deterministic but slow on a word it has not seen (a fraction of a millisecond), so roots
are memoised, and the matcher only asks for the root of a word that could have it."""

from __future__ import annotations

from functools import lru_cache

from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

MIN_LENGTH = 4
"""Shorter words are taken as they are (no Indonesian affix leaves a root that short)."""


class RootFinder:
    """`root(word)` of a lower-case word; memoised up to `cache_size` distinct words."""

    def __init__(self, cache_size: int = 100_000) -> None:
        stemmer = Stemmer(ArrayDictionary(StemmerFactory().get_words_from_file()))

        def find(word: str) -> str:
            if len(word) < MIN_LENGTH or not word.isalpha():
                return word
            return stemmer.stem_word(word) or word

        self.root = lru_cache(maxsize=cache_size)(find)
