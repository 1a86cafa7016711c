"""The projection's position in the log, kept in the same database as its rows.

The update is guarded (optimistic): it only moves from the position the writer expects.
If another instance moved it first, the whole batch is rolled back and the loser re-reads."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from desk_projection.tables import checkpoints
from desk_shared.runtime.log_reader import PositionConflict


class CheckpointConflict(PositionConflict):
    """Another writer advanced the checkpoint: this batch must not be committed."""


def read_position(conn: Connection, name: str) -> int | None:
    return conn.execute(sa.select(checkpoints.c.position).where(checkpoints.c.name == name)).scalar_one_or_none()


def ensure_checkpoint(engine: Engine, name: str) -> int:
    """The stored position, creating the checkpoint at 0 on first use."""
    with engine.connect() as conn:
        position = read_position(conn, name)
    if position is not None:
        return position
    try:
        with engine.begin() as conn:
            conn.execute(checkpoints.insert().values(name=name, position=0))
    except IntegrityError:  # another instance created it at the same moment
        pass
    with engine.connect() as conn:
        position = read_position(conn, name)
    assert position is not None
    return position


def advance(conn: Connection, name: str, expected: int, new: int) -> None:
    """Move the checkpoint from `expected` to `new` inside the caller's transaction."""
    changed = conn.execute(checkpoints.update()
                           .where(checkpoints.c.name == name, checkpoints.c.position == expected)
                           .values(position=new)).rowcount
    if changed != 1:
        found = read_position(conn, name)
        if found is None and expected == 0:  # first batch ever (a concurrent first insert fails on the key)
            conn.execute(checkpoints.insert().values(name=name, position=new))
            return
        raise CheckpointConflict(f"checkpoint {name!r} is at {found}, expected {expected}: "
                                 "another projection instance is writing to this database")
