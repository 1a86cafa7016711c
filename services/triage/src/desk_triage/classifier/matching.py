"""Finding rule phrases in normalised clauses, with negation ("tidak ada korban")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from desk_triage.classifier.normalise import Clause, Normaliser, collapse


@dataclass(frozen=True)
class WordPattern:
    """One word of a phrase; a leading or trailing `*` matches any letters there."""

    core: str
    any_prefix: bool = False
    any_suffix: bool = False

    @classmethod
    def parse(cls, text: str) -> WordPattern:
        return cls(text.strip("*"), text.startswith("*"), text.endswith("*"))

    def matches(self, word: str) -> bool:
        if self.any_prefix and self.any_suffix:
            return self.core in word
        if self.any_prefix:
            return word.endswith(self.core)
        if self.any_suffix:
            return word.startswith(self.core)
        return word == self.core


@dataclass(frozen=True)
class Phrase:
    text: str
    words: tuple[WordPattern, ...]

    @classmethod
    def parse(cls, text: str, normaliser: Normaliser) -> Phrase:
        """Normalise the phrase like report text; wildcard words are only lower-cased."""
        words: list[WordPattern] = []
        for raw in text.casefold().split():
            if "*" in raw:
                words.append(WordPattern.parse(collapse(raw)))
            else:
                words.extend(WordPattern(w) for w in normaliser.word(raw))
        if not words:
            raise ValueError(f"empty phrase {text!r}")
        return cls(text, tuple(words))

    def starts(self, clause: Clause) -> Iterable[int]:
        size = len(self.words)
        for i in range(len(clause) - size + 1):
            if all(p.matches(w) for p, w in zip(self.words, clause[i:i + size], strict=True)):
                yield i


@dataclass(frozen=True)
class Negation:
    words: frozenset[str]
    window: int
    transparent: frozenset[str]

    def negates(self, clause: Clause, start: int) -> bool:
        """A negating word at most `window` words before `start` (transparent words not counted)."""
        counted = 0
        for word in reversed(clause[:start]):
            if counted >= self.window:
                return False
            if word in self.words:
                return True
            if word not in self.transparent:
                counted += 1
        return False


@dataclass(frozen=True)
class Found:
    """Whether a phrase occurs affirmatively, and whether only negated occurrences were seen."""

    affirmed: bool
    negated: bool


def find(phrase: Phrase, clauses: list[Clause], negation: Negation) -> Found:
    negated = False
    for clause in clauses:
        for start in phrase.starts(clause):
            if not negation.negates(clause, start):
                return Found(affirmed=True, negated=False)
            negated = True
    return Found(affirmed=False, negated=negated)
