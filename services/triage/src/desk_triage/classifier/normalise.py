"""Normalising informal Indonesian text (SMS, WhatsApp) into words the rules can match."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

_CLAUSE_BREAK = re.compile(r"[.,;:!?\n\r]+")
_WORD = re.compile(r"[^\W_]+")
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
"""A letter written three or more times in a row ("ancaaam"); Indonesian never triples one."""

Clause = tuple[str, ...]


def collapse(word: str) -> str:
    return _ELONGATED.sub(r"\1", word)


@dataclass(frozen=True)
class Normaliser:
    """Lower-cases, collapses elongated letters and expands shorthand ("yg" -> "yang").

    Shorthand is looked up before and after collapsing, so both "pppk" and "gaaak" expand."""

    abbreviations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def word(self, raw: str) -> tuple[str, ...]:
        if raw in self.abbreviations:
            return self.abbreviations[raw]
        collapsed = collapse(raw)
        return self.abbreviations.get(collapsed, (collapsed,))

    def words(self, text: str) -> Clause:
        folded = unicodedata.normalize("NFKC", text).casefold()
        return tuple(w for raw in _WORD.findall(folded) for w in self.word(raw))

    def clauses(self, text: str) -> list[Clause]:
        """The text as clauses of normalised words; phrases and negation stay inside a clause."""
        parts = (self.words(part) for part in _CLAUSE_BREAK.split(text))
        return [part for part in parts if part]
