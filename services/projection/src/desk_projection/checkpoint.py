"""The projection's position in the log, kept in the same database as its rows, with a
fingerprint of the message at that position (which log the position refers to).

The update is guarded (optimistic): it only moves from the position the writer expects.
If another instance moved it first, the whole batch is rolled back and the loser re-reads."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from desk_projection.tables import checkpoints
from desk_shared.runtime.log_reader import Checkpoint, PositionConflict


class CheckpointConflict(PositionConflict):
    """Another writer advanced the checkpoint: this batch must not be committed."""


def read_position(conn: Connection, name: str) -> int | None:
    return conn.execute(sa.select(checkpoints.c.position).where(checkpoints.c.name == name)).scalar_one_or_none()


def read_checkpoint(conn: Connection, name: str) -> Checkpoint | None:
    row = conn.execute(sa.select(checkpoints.c.position, checkpoints.c.fingerprint)
                       .where(checkpoints.c.name == name)).one_or_none()
    return None if row is None else Checkpoint(int(row.position), row.fingerprint)


def ensure_checkpoint(engine: Engine, name: str) -> Checkpoint:
    """The stored checkpoint, created at 0 on first use."""
    with engine.connect() as conn:
        found = read_checkpoint(conn, name)
    if found is not None:
        return found
    try:
        with engine.begin() as conn:
            conn.execute(checkpoints.insert().values(name=name, position=0))
    except IntegrityError:  # another instance created it at the same moment
        pass
    with engine.connect() as conn:
        found = read_checkpoint(conn, name)
    assert found is not None
    return found


def advance(conn: Connection, name: str, expected: int, new: int, fingerprint: str | None = None) -> None:
    """Move the checkpoint from `expected` to `new` (the message there has `fingerprint`)
    inside the caller's transaction."""
    changed = conn.execute(checkpoints.update()
                           .where(checkpoints.c.name == name, checkpoints.c.position == expected)
                           .values(position=new, fingerprint=fingerprint)).rowcount
    if changed != 1:
        found = read_position(conn, name)
        if found is None and expected == 0:  # first batch ever (a concurrent first insert fails on the key)
            conn.execute(checkpoints.insert().values(name=name, position=new, fingerprint=fingerprint))
            return
        raise CheckpointConflict(f"checkpoint {name!r} is at {found}, expected {expected}: "
                                 "another projection instance is writing to this database")
