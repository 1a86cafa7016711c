"""Applying a batch of the log to the read models: rows and position in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from desk_projection.apply import apply_event
from desk_projection.checkpoint import advance, ensure_checkpoint
from desk_shared.runtime.log_reader import BatchResult, Delivered

log = logging.getLogger(__name__)

CHECKPOINT = "read_models"


class Projector:
    """Synchronous (run it in a worker thread): the SQLAlchemy engine is a blocking one."""

    def __init__(self, engine: Engine, checkpoint: str = CHECKPOINT) -> None:
        self._engine = engine
        self._checkpoint = checkpoint

    def position(self) -> int:
        return ensure_checkpoint(self._engine, self._checkpoint)

    def apply_batch(self, expected: int, batch: Sequence[Delivered]) -> BatchResult:
        """Apply what lies beyond `expected` and move the checkpoint, all or nothing.

        Messages at or below `expected` were applied before (a redelivery) and are skipped.
        Raises CheckpointConflict, with nothing written, if the stored position is not `expected`."""
        fresh = [d for d in batch if d.seq > expected]
        if not fresh:
            return BatchResult(expected, 0, 0)
        fresh.sort(key=lambda d: d.seq)
        position = fresh[-1].seq
        applied = 0
        with self._engine.begin() as conn:
            # Guard first: it locks the checkpoint row, so a second instance waits here and then
            # fails cleanly instead of colliding with rows this batch is writing.
            advance(conn, self._checkpoint, expected, position)
            for delivered in fresh:
                if delivered.event is not None and apply_event(conn, delivered.seq, delivered.event):
                    applied += 1
        return BatchResult(position, applied, len(fresh) - applied)
