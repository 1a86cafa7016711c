"""The log applied to fresh tables by the projection's own reader and projector, up to an exact
position: the live tables' position, so the two can be swapped or compared."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.engine import Engine

from desk_projection.bootstrap import log_reader, report_progress
from desk_projection.projector import Projector
from desk_projection.settings import ProjectionSettings
from desk_shared.runtime.log_reader import ReadTotals
from desk_shared.runtime.settings import BusSettings

ProgressFactory = Callable[[int, int], Callable[[ReadTotals], None]]
"""`progress(start, target)` makes the function shown the totals as they grow (see __main__)."""
CLIENT_NAME = "desk-projection-fresh"


class Interrupted(RuntimeError):
    """Stopped (a signal) before the fresh tables reached their target."""


async def replay(fresh: Engine, settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event, target: int,
                 progress: ProgressFactory | None = None) -> ReadTotals:
    """Apply the log to the tables of `fresh` from their position up to `target` exactly. Poison
    messages are recorded as skipped, not dead-lettered again (the live reader did that)."""
    projector = Projector(fresh)
    start = await asyncio.to_thread(projector.position)
    if start == target:
        return ReadTotals(position=target)
    if start > target:
        raise RuntimeError(f"the fresh tables are at {start}, beyond the target {target}")
    reader = log_reader(projector, settings, bus, dead_letter=False, client_name=CLIENT_NAME)
    if progress is None:
        totals = await reader.run(stop, stop_at=target)
    else:
        report = progress(start, target)
        showing = asyncio.create_task(report_progress(reader, report))
        try:
            totals = await reader.run(stop, stop_at=target)
        finally:
            showing.cancel()
            report(reader.totals)
    reached = await asyncio.to_thread(projector.position)
    if reached != target:
        if stop.is_set():
            raise Interrupted(f"stopped at position {reached} of {target}")
        raise RuntimeError(f"the fresh tables reached {reached}, not {target}")
    return totals
