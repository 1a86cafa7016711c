"""Normalising informal Indonesian (formal letters, web forms, SMS and WhatsApp) into the words
the rules and the model read.

The result is a flat tuple of words in which `SENTENCE` marks where a sentence ends (at . ! ? or
a new line) and `CLAUSE` where a clause ends inside one (at , ; :). Phrases and negation never
reach across either; pieces joined by `~` in a rule must share a sentence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

CLAUSE = ","
"""The word standing for a clause break inside a sentence; no rule phrase can contain it."""
SENTENCE = "."
"""The word standing for a sentence break."""
BREAKS = frozenset((CLAUSE, SENTENCE))

_TOKEN = re.compile(r"[^\W_]+|[.,;:!?\n\r]+")
_SENTENCE_CHARS = frozenset(".!?\n\r")
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
"""A letter written three or more times in a row ("ancaaam"): Indonesian never triples one."""
_ELONGATED_ASCII = re.compile(r"([a-z])\1\1")
"""The same test for lower-case ASCII text, three times faster."""
_BREAK_CHARS = frozenset(".,;:!?\n\r")

Words = tuple[str, ...]


def collapse(word: str) -> str:
    """Shorten letters repeated for emphasis: "tolooong" -> "tolong", "bentrokkk" -> "bentrok"."""
    return _ELONGATED.sub(r"\1", word)


@dataclass(frozen=True)
class Normaliser:
    """Lower-cases (Unicode NFKC + casefold), collapses elongated letters and replaces shorthand
    and spelling variants from a table ("yg" -> "yang", "kades" -> "kepala desa").

    The table is consulted before and after collapsing, so both "pppk" and "gaaak" are found."""

    replacements: Mapping[str, Words] = field(default_factory=dict)

    def word(self, raw: str) -> Words:
        """One raw (lower-case) word as the normalised words it stands for."""
        found = self.replacements.get(raw)
        if found is not None:
            return found
        collapsed = collapse(raw)
        return self.replacements.get(collapsed, (collapsed,))

    def words(self, text: str) -> Words:
        """The whole text as normalised words with its breaks (never two in a row, never first or
        last; a run of punctuation holding a sentence end is a `SENTENCE`)."""
        if text.isascii():  # NFKC leaves ASCII as it is
            folded = text.lower()
            elongated = _ELONGATED_ASCII.search(folded) is not None
        else:
            folded = unicodedata.normalize("NFKC", text).casefold()
            elongated = _ELONGATED.search(folded) is not None
        table = self.replacements
        out: list[str] = []
        for token in _TOKEN.findall(folded):
            if token[0] in _BREAK_CHARS:
                mark = SENTENCE if _SENTENCE_CHARS.intersection(token) else CLAUSE
                if not out:
                    continue
                if out[-1] in BREAKS:
                    if mark == SENTENCE:
                        out[-1] = SENTENCE
                else:
                    out.append(mark)
                continue
            found = table.get(token)
            if found is None and elongated:
                found = self.word(token)
            if found is None:
                out.append(token)
            else:
                out.extend(found)
        if out and out[-1] in BREAKS:
            out.pop()
        return tuple(out)
