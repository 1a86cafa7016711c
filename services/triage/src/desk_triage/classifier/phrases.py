"""The rule phrase syntax, parsed into what the matcher looks for.

Phrases are written as people write and normalised like report text:
- words match whole words: "serangan fajar";
- a `*` at the start or end of a word matches any letters there: "*bakar*" matches bakar,
  membakar, dibakar, terbakar, pembakaran;
- a word starting with `+` matches every word formed from that root: "+tikam" matches tikam,
  menikam, ditikam, penikaman (roots from PySastrawi's stemmer);
- `..` between words allows up to `gap` other words in between, in order, in one clause:
  "*bagi* .. amplop" matches "membagikan beberapa amplop";
- `@name` stands for any item of the named word list: "bawa @weapon";
- `~` joins pieces that must all occur in one sentence, in any order:
  "@village_official ~ @partisan_act" matches "amplop paslon dibagikan pak kades".

A piece is a chain of steps; a step is one or more alternative sequences (a list's items, or
one run of plain words); a sequence is one or more automaton keys ("parts", split at inner
wildcards and roots) that follow each other directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from desk_triage.classifier.normalise import Normaliser, collapse

GAP = ".."
TOGETHER = "~"
LIST = "@"
ROOT = "+"

Roots = Callable[[str], str]
"""A word's root (kata dasar)."""


@dataclass(frozen=True, slots=True)
class Part:
    key: str
    any_prefix: bool
    any_suffix: bool
    size: int
    """Number of words the key spans."""
    root: str | None = None
    """Set for a `+root` part: the key only preselects words, whose root must equal this."""


@dataclass(frozen=True, slots=True)
class Sequence_:
    parts: tuple[Part, ...]
    """Parts that follow each other directly (no word in between)."""


Step = tuple[Sequence_, ...]
"""Alternatives: any one of them."""


@dataclass(frozen=True, slots=True)
class Chain:
    steps: tuple[Step, ...]
    gaps: tuple[int, ...]
    """Most words allowed between step i and step i + 1."""


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str
    pieces: tuple[Chain, ...]
    """Chains that must share a sentence."""


def parse_phrase(text: str, normaliser: Normaliser, gap: int, lists: Mapping[str, tuple[str, ...]],
                 roots: Roots | None = None) -> Phrase:
    pieces = tuple(_chain(piece, text, normaliser, gap, lists, roots) for piece in text.split(TOGETHER))
    return Phrase(text, pieces)


def _chain(piece: str, text: str, normaliser: Normaliser, gap: int, lists: Mapping[str, tuple[str, ...]],
           roots: Roots | None) -> Chain:
    steps: list[Step] = []
    gaps: list[int] = []
    plain: list[str] = []
    next_gap = 0

    def add(step: Step) -> None:
        nonlocal next_gap
        if steps:
            gaps.append(next_gap)
        steps.append(step)
        next_gap = 0

    def flush() -> None:
        if plain:
            add((_sequence(plain, text, normaliser, roots),))
            plain.clear()

    for token in piece.casefold().split():
        if token == GAP:
            flush()
            next_gap = gap
        elif token.startswith(LIST):
            flush()
            items = lists.get(token[1:])
            if items is None:
                raise ValueError(f"phrase {text!r}: no list named {token[1:]!r}")
            add(tuple(dict.fromkeys(_sequence(item.split(), text, normaliser, roots) for item in items)))
        else:
            plain.append(token)
    flush()
    if not steps:
        raise ValueError(f"phrase {text!r} has an empty piece")
    return Chain(tuple(steps), tuple(gaps))


def _sequence(tokens: list[str], text: str, normaliser: Normaliser, roots: Roots | None) -> Sequence_:
    """Plain words (no `..`, `@` or `~`), split into automaton parts at inner wildcards and roots."""
    parts: list[Part] = []
    words: list[str] = []
    any_prefix = False

    def close(any_suffix: bool) -> None:
        nonlocal words, any_prefix
        if words:
            parts.append(Part(" ".join(words), any_prefix, any_suffix, len(words)))
        words, any_prefix = [], False

    for raw in tokens:
        if "*" in raw.strip("*") or raw.startswith((LIST, TOGETHER)) or raw == GAP:
            raise ValueError(f"{text!r}: '*' only at the start or end of a word; no '@', '~' or '..' in a list item")
        if raw.startswith(ROOT):
            if roots is None or "*" in raw or len(raw) < 4:
                raise ValueError(f"{text!r}: '+' takes a whole word of at least 3 letters, and a stemmer")
            close(False)
            root = roots(raw[1:])
            parts.append(Part(root[1:] if len(root) > 3 else root, True, True, 1, root))
            continue
        if raw.startswith("*"):
            close(False)
            any_prefix = True
        words.extend([collapse(raw.strip("*"))] if "*" in raw else normaliser.word(raw))
        if raw.endswith("*"):
            close(True)
    close(False)
    if not parts or any(not p.key for p in parts):
        raise ValueError(f"phrase {text!r} has no words")
    return Sequence_(tuple(parts))
