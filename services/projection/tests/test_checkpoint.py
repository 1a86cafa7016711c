"""The position moves with the rows, once, and only from where the writer expects it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_projection.checkpoint import CheckpointConflict
from desk_projection.projector import Delivered, Projector
from desk_projection.tables import checkpoints, incidents, reports, timeline
from desk_testing import samples


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def batch(first_seq: int, reports_from: int, n: int) -> list[Delivered]:
    events = [e for i in range(reports_from, reports_from + n) for e in samples.incident_story(i)[:2]]
    return [Delivered(first_seq + i, e) for i, e in enumerate(events)]


def test_a_fresh_database_starts_at_zero(engine: Engine) -> None:
    assert Projector(engine).position() == 0
    assert Projector(engine).position() == 0
    assert count(engine, checkpoints) == 1


def test_the_position_advances_with_the_batch(engine: Engine) -> None:
    projector = Projector(engine)
    result = projector.apply_batch(projector.position(), batch(1, 0, 3))
    assert (result.position, result.applied, result.ignored) == (6, 6, 0)
    assert projector.position() == 6


def test_events_at_or_below_the_position_are_skipped(engine: Engine) -> None:
    projector = Projector(engine)
    first = batch(1, 0, 3)
    projector.apply_batch(0, first)
    overlapping = first[3:] + batch(7, 3, 2)  # a redelivery of 4..6 followed by 7..10
    result = projector.apply_batch(6, overlapping)
    assert (result.position, result.applied) == (10, 4)
    assert projector.apply_batch(10, overlapping).applied == 0
    assert (count(engine, reports), count(engine, incidents), count(engine, timeline)) == (5, 5, 10)


def test_unknown_and_poison_messages_still_advance_the_position(engine: Engine) -> None:
    projector = Projector(engine)
    [submitted, triaged] = samples.incident_story(0)[:2]
    result = projector.apply_batch(0, [Delivered(1, submitted), Delivered(2, None), Delivered(3, triaged)])
    assert (result.position, result.applied, result.ignored) == (3, 2, 1)
    assert projector.apply_batch(3, [Delivered(4, None)]).position == 4
    assert projector.position() == 4


def test_a_stale_writer_is_rolled_back(engine: Engine) -> None:
    """Two instances on one database: the one whose expected position is stale loses its
    whole batch, rows included, and can continue from the stored position."""
    winner, loser = Projector(engine), Projector(engine)
    winner.apply_batch(0, batch(1, 0, 2))
    with pytest.raises(CheckpointConflict, match="expected 0"):
        loser.apply_batch(0, batch(1, 10, 2))
    assert (count(engine, reports), count(engine, timeline)) == (2, 4)
    assert loser.position() == 4
    assert loser.apply_batch(4, batch(5, 10, 2)).position == 8
    assert count(engine, reports) == 4
