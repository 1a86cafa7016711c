"""Comparing the events a replay derives with the ones in the log: every field but `recorded_at`
(when an event was handed to the log is not a decision). Equal stored bytes settle it at once;
otherwise both are read the same way and each differing field is named."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from desk_shared.contracts.envelope import Event

COMPARED = ("event_id", "schema_version", "occurred_at", "correlation_id", "causation_id", "producer", "actor",
            "payload")
MISSING = "(event)"


@dataclass(frozen=True)
class Difference:
    seq: int
    """Where in the log: the event's sequence (for an event missing from the log, where it belongs)."""
    event_id: uuid.UUID
    event_type: str
    field: str
    """`payload.severity`, `occurred_at`, ...; `(event)` when the whole event is missing or not derived."""
    logged: str
    replayed: str

    def __str__(self) -> str:
        where = f"seq {self.seq} event {self.event_id} ({self.event_type})"
        if self.field.startswith("("):  # the whole event or decision: the two sides say it in words
            return f"{where}: {self.logged}, {self.replayed}"
        return f"{where}: {self.field}: log {self.logged}, replay {self.replayed}"


def differences(logged: Sequence[tuple[int, Event, bytes]], derived: Sequence[Event]) -> list[Difference]:
    """How the events of one decision in the log (with their sequences and stored bytes) differ from
    the ones the replay derived: by event id, then field by field, then their order."""
    mine = {event.event_id: event for event in derived}
    found: list[Difference] = []
    for seq, event, data in logged:
        same = mine.pop(event.event_id, None)
        if same is None:
            found.append(Difference(seq, event.event_id, event.event_type, MISSING, "in the log",
                                    "not derived by the replay"))
        elif not _same_bytes(event, same, data):
            found += _fields(seq, event, same)
    at = logged[0][0] if logged else 0
    found += [Difference(at, e.event_id, e.event_type, MISSING, "missing from the log", "derived by the replay")
              for e in mine.values()]
    if not found:
        order = [event.event_id for _, event, _ in logged]
        if order != [event.event_id for event in derived]:
            found.append(Difference(at, logged[0][1].event_id, logged[0][1].event_type, "(order)",
                                    f"in the log in the order {', '.join(str(i) for i in order)}",
                                    "the replay derives them in another order"))
    return found


def _same_bytes(logged: Event, derived: Event, data: bytes) -> bool:
    return derived.model_copy(update={"recorded_at": logged.recorded_at}).to_json() == data


def _fields(seq: int, logged: Event, derived: Event) -> list[Difference]:
    found = []
    if logged.event_type != derived.event_type:
        found.append(Difference(seq, logged.event_id, logged.event_type, "type", logged.event_type,
                                derived.event_type))
        return found
    ours, theirs = derived.model_dump(mode="json"), logged.model_dump(mode="json")
    for name in COMPARED:
        for path, have, want in _paths(name, theirs.get(name), ours.get(name)):
            found.append(Difference(seq, logged.event_id, logged.event_type, path, _shown(have), _shown(want)))
    return found


def _paths(path: str, have: Any, want: Any) -> Iterator[tuple[str, Any, Any]]:
    """The innermost places where two JSON values differ."""
    if have == want:
        return
    if isinstance(have, dict) and isinstance(want, dict):
        for key in sorted(set(have) | set(want)):
            yield from _paths(f"{path}.{key}", have.get(key), want.get(key))
    elif isinstance(have, list) and isinstance(want, list) and len(have) == len(want):
        for n, (a, b) in enumerate(zip(have, want, strict=True)):
            yield from _paths(f"{path}[{n}]", a, b)
    else:
        yield path, have, want


def _shown(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
