"""Finding every rule phrase in a report in one pass of an Aho-Corasick automaton, with negation.

Automaton keys carry their word boundaries (" tps " matches the word tps only; "bakar " any word
ending in bakar), so a hit needs no further check, and negating words are keys too. After the one
walk over the text, only what the hits make possible is worked out: the order and gaps of chains,
the sentence shared by `~` pieces, and whether a negating word stands before each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

import ahocorasick

from desk_triage.classifier.normalise import BREAKS, SENTENCE, Words
from desk_triage.classifier.phrases import Chain, Part, Phrase, Roots, Sequence_

Span = tuple[int, int]
"""First and last word of an occurrence."""

_NEGATOR = -1
"""The part id under which the automaton reports a negating word."""


@dataclass(frozen=True)
class Negation:
    """A piece is negated when a negating word stands before it in its clause with fewer than
    `window` other words in between; `transparent` words are not counted ("tidak ada korban",
    "tidak sampai terjadi bentrok")."""

    words: frozenset[str]
    window: int
    transparent: frozenset[str]

    def negated_after(self, words: Words, position: int, into: set[int]) -> None:
        """Add to `into` every word position the negating word at `position` reaches."""
        counted = 0
        for i in range(position + 1, len(words)):
            word = words[i]
            if word in BREAKS:
                return
            into.add(i)
            if word not in self.transparent and word not in self.words:
                counted += 1
                if counted >= self.window:
                    return


@dataclass
class _Text:
    """One text being matched: its words, the automaton's hits, and what was worked out from them."""

    words: Words
    hits: dict[int, list[Span]]
    negated: set[int]
    """Word positions within the reach of a negating word."""
    cache: dict[tuple[str, int], list[Span]] = field(default_factory=dict)
    sentence_of: list[int] | None = None

    def sentence(self, word: int) -> int:
        if self.sentence_of is None:
            self.sentence_of = list(accumulate(w == SENTENCE for w in self.words))
        return self.sentence_of[word]


class Matcher:
    """All phrases of a rule set compiled into one automaton. Immutable after construction.

    Parts, sequences, steps and chains are numbered once however many phrases share them (a word
    list used in ten phrases is one step) and worked out at most once per text."""

    def __init__(self, phrases: Iterable[Phrase], negation: Negation, roots: Roots | None = None) -> None:
        self.phrases: tuple[Phrase, ...] = tuple(phrases)
        self.negation = negation
        self._roots = roots
        self._keys: dict[str, list[tuple[int, int, int, str | None]]] = {}
        self._part_ids: dict[Part, int] = {}
        self._sequences: dict[Sequence_, tuple[int, ...]] = {}
        """Per sequence: its parts' ids, which follow each other directly."""
        self._step_ids: dict[tuple[Sequence_, ...], int] = {}
        self._steps: list[dict[int, tuple[Sequence_, ...]]] = []
        """Per step: its sequences by their last part (only those can have occurred)."""
        self._step_parts: list[set[int]] = []
        self._chain_ids: dict[Chain, int] = {}
        self._chains: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        self._phrase_chains: dict[int, tuple[int, ...]] = {}
        self._required: dict[int, tuple[frozenset[int], ...]] = {}
        """Per compound phrase: for each of its steps, the parts of which one at least must be hit."""
        simple: dict[int, list[int]] = {}
        compound: dict[int, set[int]] = {}
        for index, phrase in enumerate(self.phrases):
            single = phrase.pieces[0].steps[0][0].parts if _is_single_part(phrase) else None
            if single:
                simple.setdefault(self._part(single[0]), []).append(index)
                continue
            chains = tuple(self._chain(chain) for chain in phrase.pieces)
            self._phrase_chains[index] = chains
            steps = [step for chain in chains for step in self._chains[chain][0]]
            self._required[index] = tuple(frozenset(self._step_parts[step]) for step in steps)
            for part in self._step_parts[steps[-1]]:
                compound.setdefault(part, set()).add(index)
        for word in negation.words:
            self._add_key(_NEGATOR, Part(word, False, False, 1))
        self._simple = {part: tuple(ids) for part, ids in simple.items()}
        """Phrases of one word or key, by their part: found as soon as the part is hit."""
        self._compound = {part: tuple(sorted(ids)) for part, ids in compound.items()}
        """The other phrases, by the parts of their last step (one of which they need)."""
        self._automaton = ahocorasick.Automaton()
        for key, entries in self._keys.items():
            self._automaton.add_word(key, tuple(entries))
        if self._keys:
            self._automaton.make_automaton()

    def _add_key(self, part_id: int, part: Part) -> None:
        key = ("" if part.any_prefix else " ") + part.key + ("" if part.any_suffix else " ")
        offset = 0 if part.any_prefix else 1
        self._keys.setdefault(key, []).append((part_id, len(key) - offset, part.size, part.root))

    def _part(self, part: Part) -> int:
        if part not in self._part_ids:
            self._part_ids[part] = len(self._part_ids)
            self._add_key(self._part_ids[part], part)
        return self._part_ids[part]

    def _sequence(self, sequence: Sequence_) -> tuple[int, ...]:
        if sequence not in self._sequences:
            self._sequences[sequence] = tuple(self._part(p) for p in sequence.parts)
        return self._sequences[sequence]

    def _step(self, step: tuple[Sequence_, ...]) -> int:
        if step not in self._step_ids:
            by_last: dict[int, list[Sequence_]] = {}
            for sequence in step:
                by_last.setdefault(self._sequence(sequence)[-1], []).append(sequence)
            self._step_ids[step] = len(self._steps)
            self._steps.append({last: tuple(found) for last, found in by_last.items()})
            self._step_parts.append({part for sequence in step for part in self._sequence(sequence)})
        return self._step_ids[step]

    def _chain(self, chain: Chain) -> int:
        if chain not in self._chain_ids:
            self._chain_ids[chain] = len(self._chains)
            self._chains.append((tuple(self._step(s) for s in chain.steps), chain.gaps))
        return self._chain_ids[chain]

    # ------------------------------------------------------------------ matching
    def match(self, words: Words) -> dict[int, bool]:
        """Every phrase (by its index) that occurs in `words`: True where it occurs affirmed
        somewhere, False where it occurs only negated ("tidak ada korban")."""
        if not self.phrases or not words:
            return {}
        text = f" {' '.join(words)} "
        count = text.count
        hits: dict[int, list[Span]] = {}
        negators: list[int] = []
        roots = self._roots
        for end, entries in self._automaton.iter(text):
            for part, length, size, root in entries:
                first = count(" ", 0, end - length + 1) - 1
                if root is not None and roots is not None and roots(words[first]) != root:
                    continue
                if part == _NEGATOR:
                    negators.append(first)
                elif part in hits:
                    hits[part].append((first, first + size - 1))
                else:
                    hits[part] = [(first, first + size - 1)]
        negated: set[int] = set()
        for position in negators:
            self.negation.negated_after(words, position, negated)
        found: dict[int, bool] = {}
        candidates: set[int] = set()
        simple, compound = self._simple, self._compound
        for part, spans in hits.items():
            indices = simple.get(part)
            if indices:
                affirmed = not negated or any(first not in negated for first, _ in spans)
                for index in indices:
                    found[index] = affirmed
            more = compound.get(part)
            if more:
                candidates.update(more)
        state = _Text(words, hits, negated)
        for index in candidates:
            if all(not required.isdisjoint(hits) for required in self._required[index]):
                result = self._phrase(index, state)
                if result is not None:
                    found[index] = result
        return found

    def _phrase(self, index: int, state: _Text) -> bool | None:
        """True: affirmed somewhere; False: only negated; None: not there."""
        chains = self._phrase_chains[index]
        negated = state.negated
        if len(chains) == 1:
            spans = self._chain_spans(chains[0], state)
            return any(first not in negated for first, _ in spans) if spans else None
        pieces = []
        for chain in chains:
            spans = self._chain_spans(chain, state)
            if not spans:
                return None
            pieces.append(spans)
        sentences: dict[int, list[bool]] = {}
        for number, spans in enumerate(pieces):
            for first, _ in spans:
                flags = sentences.setdefault(state.sentence(first), [False] * len(pieces) * 2)
                flags[2 * number + (0 if first in negated else 1)] = True
        shared = [flags for flags in sentences.values()
                  if all(flags[2 * n] or flags[2 * n + 1] for n in range(len(pieces)))]
        if not shared:
            return None
        return any(all(flags[2 * n + 1] for n in range(len(pieces))) for flags in shared)

    def _chain_spans(self, chain: int, state: _Text) -> list[Span]:
        cached = state.cache.get(("chain", chain))
        if cached is not None:
            return cached
        steps, gaps = self._chains[chain]
        spans = self._step_spans(steps[0], state)
        for step, gap in zip(steps[1:], gaps, strict=True):
            if not spans:
                break
            following = self._step_spans(step, state)
            spans = [(first, reached) for first, last in spans
                     if (reached := _next_within(following, last, gap, state.words)) >= 0]
        state.cache[("chain", chain)] = spans
        return spans

    def _step_spans(self, step: int, state: _Text) -> list[Span]:
        cached = state.cache.get(("step", step))
        if cached is not None:
            return cached
        by_last_part, hits = self._steps[step], state.hits
        if len(by_last_part) <= len(hits):
            groups = [ids for last, ids in by_last_part.items() if last in hits]
        else:
            groups = [ids for last in hits if (ids := by_last_part.get(last))]
        spans = [span for group in groups for sequence in group for span in self._sequence_spans(sequence, state)]
        state.cache[("step", step)] = spans
        return spans

    def _sequence_spans(self, sequence: Sequence_, state: _Text) -> Sequence[Span]:
        parts = self._sequences[sequence]
        hits = state.hits
        spans: Sequence[Span] = hits.get(parts[0], ())
        for part in parts[1:]:
            following = dict(hits.get(part, ()))
            spans = [(first, following[last + 1]) for first, last in spans if last + 1 in following]
            if not spans:
                break
        return spans


def _is_single_part(phrase: Phrase) -> bool:
    [chain, *others] = phrase.pieces
    return not others and len(chain.steps) == 1 and len(chain.steps[0]) == 1 and len(chain.steps[0][0].parts) == 1


def _next_within(spans: Iterable[Span], after: int, gap: int, words: Words) -> int:
    """The last word of the earliest span starting 1..gap+1 words after `after` in its clause, or -1."""
    starts = [(first, last) for first, last in spans if after < first <= after + gap + 1]
    for first, last in sorted(starts):
        if BREAKS.isdisjoint(words[after + 1:first]):
            return last
    return -1
