"""Applying a batch of the log to the read models: rows and position in one transaction.

The batch's rows are loaded at once, the events applied to them in memory (`apply`), and
the changes written with one statement per kind (`batch_io`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from desk_projection.apply import apply_event, handles, rows_needed
from desk_projection.batch_io import load, record_skipped, write
from desk_projection.checkpoint import advance, ensure_checkpoint
from desk_shared.runtime.log_reader import BatchResult, Checkpoint, Delivered, EventFailed, PositionConflict

log = logging.getLogger(__name__)

CHECKPOINT = "read_models"


def _event_at_fault(exc: BaseException) -> bool:
    """Whether a failed write of one event is that event's doing (a value the database refuses),
    rather than the database's (unreachable, locked, schema missing): only the former is given up."""
    if isinstance(exc, sa_exc.DataError | sa_exc.IntegrityError):
        return True
    if isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError):
        return True  # a value no parameter conversion accepts
    return isinstance(exc, ValueError | TypeError | OverflowError)


class Projector:
    """Synchronous (run it in a worker thread): the SQLAlchemy engine is a blocking one."""

    def __init__(self, engine: Engine, checkpoint: str = CHECKPOINT) -> None:
        self._engine = engine
        self._checkpoint = checkpoint

    def position(self) -> int:
        return self.checkpoint().position

    def checkpoint(self) -> Checkpoint:
        return ensure_checkpoint(self._engine, self._checkpoint)

    def apply_batch(self, expected: int, batch: Sequence[Delivered]) -> BatchResult:
        """Apply what lies beyond `expected` and move the checkpoint, all or nothing.

        Messages at or below `expected` were applied before (a redelivery) and are skipped.
        Raises CheckpointConflict, with nothing written, if the stored position is not `expected`;
        EventFailed when one event cannot be applied (the batch is not written)."""
        fresh = sorted((d for d in batch if d.seq > expected), key=lambda d: d.seq)
        if not fresh:
            return BatchResult(expected, 0, 0)
        last = fresh[-1]
        skipped = [d for d in fresh if d.skipped is not None]
        applying = [d for d in fresh if d.skipped is None and d.event is not None and handles(d.event)]
        report_ids, incident_ids, kecamatan = rows_needed([d.event for d in applying if d.event is not None])
        try:
            with self._engine.begin() as conn:
                # Guard first: it locks the checkpoint row, so a second instance waits here and then
                # fails cleanly instead of colliding with rows this batch is writing.
                advance(conn, self._checkpoint, expected, last.seq, last.fingerprint or None)
                rows = load(conn, report_ids, incident_ids, kecamatan)
                for delivered in applying:
                    assert delivered.event is not None
                    try:
                        apply_event(rows, delivered.seq, delivered.event)
                    except Exception as exc:
                        raise EventFailed(delivered.seq, f"{delivered.event.event_type} not applicable: "
                                                         f"{exc!r}") from exc
                write(conn, rows)
                record_skipped(conn, [{"stream_seq": d.seq, "subject": d.subject[:255],
                                       "event_type": d.event.event_type if d.event else None,
                                       "event_id": d.event.event_id if d.event else None,
                                       "reason": d.skipped} for d in skipped])
        except (EventFailed, PositionConflict):
            raise
        except Exception as exc:
            if len(applying) == 1 and _event_at_fault(exc):
                failed = applying[0]
                assert failed.event is not None
                raise EventFailed(failed.seq, f"{failed.event.event_type} refused by the database: "
                                              f"{_short(exc)}") from exc
            raise
        return BatchResult(last.seq, len(applying), len(fresh) - len(applying) - len(skipped), len(skipped))


def _short(exc: BaseException) -> str:
    """The first line of a database error (SQLAlchemy appends the statement and its parameters)."""
    text = str(getattr(exc, "orig", None) or exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:500]
