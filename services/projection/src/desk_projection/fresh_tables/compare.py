"""Two sets of read-model tables compared row by row, by primary key.

Each table is read from both sides in key order and walked like a merge: memory stays flat
however large the tables are. Strings are ordered byte-wise (PostgreSQL's "C" collation, SQLite's
default), the order Python compares them in, and the walk checks the order as it goes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from desk_projection.tables import READ_MODEL_TABLES, checkpoints

COMPARED_TABLES: tuple[sa.Table, ...] = tuple(t for t in READ_MODEL_TABLES if t is not checkpoints)
"""Every read-model table but the checkpoint (its position is equal by construction)."""
FETCH_ROWS = 2000
VALUE_CHARS = 100

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Difference:
    table: str
    key: Key
    column: str | None
    """None: the row is on one side only."""
    live: Any
    rebuilt: Any

    def describe(self) -> str:
        where = f"{self.table} {_key_text(self.key)}"
        if self.column is None:
            return f"{where}: only in the {'live tables' if self.rebuilt is None else 'rebuild'}"
        return f"{where}: {self.column}: live {_value_text(self.live)}, rebuilt {_value_text(self.rebuilt)}"


@dataclass
class TableCounts:
    name: str
    live_rows: int = 0
    rebuilt_rows: int = 0
    changed: int = 0
    only_live: int = 0
    only_rebuilt: int = 0

    @property
    def differing(self) -> int:
        return self.changed + self.only_live + self.only_rebuilt

    def describe(self) -> str:
        if not self.differing:
            return f"{self.name}: {_rows_text(self.live_rows)}, identical"
        parts = [f"{n} {what}" for n, what in ((self.changed, "changed"), (self.only_live, "only live"),
                                                (self.only_rebuilt, "only rebuilt")) if n]
        return f"{self.name}: {_rows_text(self.live_rows)} live, {self.rebuilt_rows} rebuilt; {', '.join(parts)}"


@dataclass
class Comparison:
    position: int
    limit: int
    tables: list[TableCounts] = field(default_factory=list)
    shown: list[Difference] = field(default_factory=list)
    differences: int = 0
    """Every column that differs, and every row on one side only (`shown` holds the first `limit`)."""

    @property
    def identical(self) -> bool:
        return self.differences == 0

    def add(self, difference: Difference) -> None:
        self.differences += 1
        if len(self.shown) < self.limit:
            self.shown.append(difference)

    def report(self) -> str:
        lines = [f"the live read models at position {self.position} against a rebuild from the log:"]
        lines += [f"  {counts.describe()}" for counts in self.tables]
        if self.identical:
            lines.append(f"IDENTICAL: every row of {len(self.tables)} tables equals the rebuild")
            return "\n".join(lines)
        lines.append(f"differences ({self.differences}, {len(self.shown)} shown):")
        lines += [f"  {difference.describe()}" for difference in self.shown]
        if self.differences > len(self.shown):
            lines.append(f"  ... and {self.differences - len(self.shown)} more")
        rows = sum(counts.differing for counts in self.tables)
        lines.append(f"DIFFERENT: {rows} row(s) differ from the rebuild")
        return "\n".join(lines)


def compare(live: Connection, rebuilt: Connection, position: int, limit: int = 20,
            tables: Sequence[sa.Table] = COMPARED_TABLES) -> Comparison:
    """Every row of `tables` on `live` against the same table on `rebuilt`."""
    found = Comparison(position, limit)
    for table in tables:
        found.tables.append(_compare_table(table, live, rebuilt, found))
    return found


def _compare_table(table: sa.Table, live: Connection, rebuilt: Connection, found: Comparison) -> TableCounts:
    counts = TableCounts(table.name)
    names = [c.name for c in table.columns]
    left, right = _rows(live, table), _rows(rebuilt, table)
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            counts.live_rows += 1
            counts.only_live += 1
            found.add(Difference(table.name, a[0], None, a[1], None))
            a = next(left, None)
        elif a is None or b[0] < a[0]:
            counts.rebuilt_rows += 1
            counts.only_rebuilt += 1
            found.add(Difference(table.name, b[0], None, None, b[1]))
            b = next(right, None)
        else:
            counts.live_rows += 1
            counts.rebuilt_rows += 1
            if a[1] != b[1]:
                counts.changed += 1
                for name, mine, theirs in zip(names, a[1], b[1], strict=True):
                    if mine != theirs:
                        found.add(Difference(table.name, a[0], name, mine, theirs))
            a, b = next(left, None), next(right, None)
    return counts


def _rows(conn: Connection, table: sa.Table) -> Iterator[tuple[Key, tuple[Any, ...]]]:
    """(key, row) in key order, fetched a few thousand at a time (a server-side cursor on PostgreSQL)."""
    keys = list(table.primary_key.columns)
    order = [c.collate("C") if conn.dialect.name == "postgresql" and isinstance(c.type, sa.String) else c
             for c in keys]
    positions = [list(table.columns).index(c) for c in keys]
    result = conn.execute(sa.select(table).order_by(*order), execution_options={"yield_per": FETCH_ROWS})
    previous: Key | None = None
    for row in result:
        values = tuple(row)
        key = tuple(values[i] for i in positions)
        if previous is not None and not previous < key:
            raise RuntimeError(f"{table.name}: rows came out of key order ({previous!r} then {key!r})")
        previous = key
        yield key, values


def _rows_text(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _key_text(key: Key) -> str:
    return str(key[0]) if len(key) == 1 else "(" + ", ".join(str(k) for k in key) + ")"


def _value_text(value: Any) -> str:
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, uuid.UUID):
        text = str(value)
    else:
        text = repr(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."
