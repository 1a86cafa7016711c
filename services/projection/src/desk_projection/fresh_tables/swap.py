"""The fresh tables swapped in for the live ones, atomically, while live projectors keep running.

A live projector's position is its checkpoint row: every batch it applies first moves that row
with a guarded UPDATE (from the position it holds in memory), then loads the rows it touches and
writes them, in one transaction (`projector.Projector.apply_batch`). Nothing of the read models
is kept in memory from one batch to the next. So, in ONE transaction on the live database:

1. block every projector's next write: PostgreSQL `LOCK TABLE checkpoints IN EXCLUSIVE MODE`
   (plain reads still pass; a projector's UPDATE waits); SQLite a write to the checkpoint as the
   transaction's first statement, which takes the live file's write lock (not the fresh file's, as
   BEGIN IMMEDIATE would: the fresh file is attached);
2. read the live position, which now cannot move, and catch the fresh tables up to it (the gap is
   small: they were caught up just before);
3. require the fresh checkpoint to be at that position (and, when both know it, the same message);
4. DELETE every live read-model row and INSERT ... SELECT the fresh ones: the tables keep their
   identity, indexes and triggers (SQLite's full-text index follows through its triggers);
5. commit. The checkpoint row is not touched.

Readers keep reading the old rows until the commit (MVCC; SQLite WAL), then the new ones: never
an empty or half state. A projector held off at step 1 then moves the checkpoint from the very
position the fresh tables were built to, and loads the rows it changes from the swapped tables: no
event is lost or applied twice. A SQLite projector waits for the write lock at most its busy timeout
(10 s); a longer swap makes it retry its batch a moment later, from its checkpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from desk_projection.checkpoint import read_checkpoint
from desk_projection.fresh_tables.held import HeldConnection
from desk_projection.fresh_tables.place import FreshTables
from desk_projection.projector import CHECKPOINT
from desk_projection.tables import READ_MODEL_TABLES, checkpoints
from desk_shared.runtime.log_reader import Checkpoint

SWAPPED_TABLES: tuple[sa.Table, ...] = tuple(t for t in READ_MODEL_TABLES if t is not checkpoints)
LOCK_TIMEOUT = "60s"
"""PostgreSQL: how long the swap waits for the checkpoint lock (a projector's batch holds it briefly)."""

CatchUp = Callable[[int], Awaitable[object]]
"""Bring the fresh tables to exactly this position."""


class SwapRefused(RuntimeError):
    """The fresh tables cannot stand for the live ones (nothing was changed)."""


@dataclass(frozen=True)
class Swapped:
    position: int
    rows: dict[str, int]
    """Per table, the rows it holds now."""


async def swap_in(fresh: FreshTables, catch_up: CatchUp, checkpoint: str = CHECKPOINT) -> Swapped:
    """Replace the live read models by the fresh ones at the live position (see the module)."""
    async with HeldConnection(fresh.live_engine(), "desk-swap") as held:
        live = await held.call(_hold_off_projectors, checkpoint)
        await catch_up(live.position)
        return await held.call(_replace, fresh.qualifier, live, checkpoint)


def _hold_off_projectors(conn: Connection, name: str) -> Checkpoint:
    conn.begin()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        conn.exec_driver_sql("LOCK TABLE checkpoints IN EXCLUSIVE MODE")
    else:  # the first statement writes: the write lock of the live file, waiting (busy timeout) for a batch
        conn.execute(checkpoints.update().where(checkpoints.c.name == name)
                     .values(position=checkpoints.c.position))
    return read_checkpoint(conn, name) or Checkpoint(0, None)


def _replace(conn: Connection, qualifier: str, live: Checkpoint, name: str) -> Swapped:
    now = read_checkpoint(conn, name) or Checkpoint(0, None)
    if now.position != live.position:  # cannot happen while the lock holds: say so rather than swap
        raise SwapRefused(f"the live checkpoint moved from {live.position} to {now.position} during the swap")
    fresh = conn.execute(sa.select(checkpoints.c.position, checkpoints.c.fingerprint)
                         .where(checkpoints.c.name == name),
                         execution_options={"schema_translate_map": {None: qualifier}}).one_or_none()
    fresh_position = int(fresh.position) if fresh else 0
    if fresh_position != live.position:
        raise SwapRefused(f"the fresh tables are at position {fresh_position}, the live ones at {live.position}")
    if fresh and fresh.fingerprint and live.fingerprint and fresh.fingerprint != live.fingerprint:
        raise SwapRefused(f"the live read models were projected from another log (a different message at "
                          f"position {live.position}): rebuild into an empty database instead")
    quote = conn.dialect.identifier_preparer.quote
    live_schema = "main." if conn.dialect.name == "sqlite" else ""
    rows: dict[str, int] = {}
    for table in SWAPPED_TABLES:
        columns = ", ".join(quote(c.name) for c in table.columns)
        target = f"{live_schema}{quote(table.name)}"
        conn.exec_driver_sql(f"DELETE FROM {target}")
        rows[table.name] = conn.exec_driver_sql(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {quote(qualifier)}.{quote(table.name)}").rowcount
    conn.commit()
    return Swapped(live.position, rows)
