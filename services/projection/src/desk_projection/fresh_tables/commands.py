"""`desk-projection rebuild --swap` and `desk-projection check`: fresh tables rebuilt from the log
at the live position, then swapped in or compared, the live projection serving throughout."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from desk_projection.archive import read_as_of
from desk_projection.bootstrap import safe_url, stream_last_sequence, tune_garbage_collector
from desk_projection.checkpoint import read_checkpoint
from desk_projection.database import make_engine
from desk_projection.fresh_tables.compare import Comparison, Difference, TableCounts, compare
from desk_projection.fresh_tables.held import HeldConnection
from desk_projection.fresh_tables.place import FreshTables, Unsupported, fresh_tables
from desk_projection.fresh_tables.replay import Interrupted, ProgressFactory, replay
from desk_projection.fresh_tables.swap import Swapped, SwapRefused, swap_in
from desk_projection.projector import CHECKPOINT
from desk_projection.settings import ProjectionSettings
from desk_shared.runtime.log_reader import Checkpoint, ReadTotals
from desk_shared.runtime.process import run_until_stopped
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

SMALL_GAP = 1000
"""Events the fresh tables may lag the live ones when the swap locks: the rest is applied under the lock."""
CATCH_UP_ROUNDS = 5
"""Unlocked catch-ups at most before the swap locks whatever the gap."""


class Refused(RuntimeError):
    """The live database is not one fresh tables can be built for (nothing was changed)."""


@dataclass
class Replayed:
    """What the replays into the fresh tables did, all together."""

    applied: int = 0
    ignored: int = 0
    skipped: int = 0

    def add(self, totals: ReadTotals) -> None:
        self.applied += totals.applied
        self.ignored += totals.ignored
        self.skipped += totals.skipped

    def describe(self) -> str:
        return (f"applied {self.applied} events, ignored {self.ignored} (types the projection does not use), "
                f"skipped {self.skipped}")


def settings_for(database_url: str | None) -> ProjectionSettings:
    """The projection's settings, on `database_url` when given (else DESK_PROJECTION_DATABASE_URL)."""
    return ProjectionSettings(database_url=database_url) if database_url else ProjectionSettings()


# ----------------------------------------------------------------------------- the commands
def swap_command(settings: ProjectionSettings, bus: BusSettings, progress: ProgressFactory | None) -> int:
    """0 swapped, 1 interrupted (nothing changed), 2 refused."""
    tune_garbage_collector(settings)
    outcome: list[int] = []

    async def run(stop: asyncio.Event) -> None:
        try:
            replayed, swapped = await rebuild_and_swap(settings, bus, stop, progress)
        except Interrupted as exc:
            print(f"interrupted ({exc}): the live read models are unchanged", flush=True)
            outcome.append(1)
            return
        except (Refused, SwapRefused, Unsupported) as exc:
            log.error("not swapped: %s", exc)
            outcome.append(2)
            return
        rows = ", ".join(f"{name} {count}" for name, count in swapped.rows.items())
        print(f"swapped: the live read models are now a rebuild from the log at position {swapped.position} "
              f"({replayed.describe()}; rows: {rows})", flush=True)
        outcome.append(0)

    run_until_stopped(run)
    return outcome[0] if outcome else 1


def check_command(settings: ProjectionSettings, bus: BusSettings, progress: ProgressFactory | None,
                  limit: int) -> int:
    """0 identical, 1 different, 2 not checked."""
    tune_garbage_collector(settings)
    outcome: list[int] = []

    async def run(stop: asyncio.Event) -> None:
        try:
            comparison = await check(settings, bus, stop, progress, limit)
        except (Interrupted, Refused, Unsupported) as exc:
            log.error("not checked: %s", exc)
            outcome.append(2)
            return
        print(comparison.report(), flush=True)
        outcome.append(0 if comparison.identical else 1)

    run_until_stopped(run)
    return outcome[0] if outcome else 2


# ----------------------------------------------------------------------------- rebuild, then swap
async def rebuild_and_swap(settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event,
                           progress: ProgressFactory | None = None) -> tuple[Replayed, Swapped]:
    """Rebuild the read models from the log into fresh tables of the live database, catch them up
    with the live position, and swap them in (`swap`); the fresh tables are dropped in any case."""
    live = make_engine(settings.database_url)
    try:
        if await asyncio.to_thread(read_as_of, live) is not None:
            raise Refused(f"{safe_url(settings.database_url)} holds an archive (desk-projection replay): it is "
                          "never rewritten")
        start = await _start(live, bus)
        tables = fresh_tables(settings.database_url, settings.sqlite_writing())
        log.info("rebuilding the read models of %s in fresh tables (%s), sequences 1..%d, then swapping them in",
                 safe_url(settings.database_url), tables.where, start.position)
        replayed = Replayed()
        try:
            await asyncio.to_thread(tables.create)
            writer = tables.engine(writer=True)
            replayed.add(await replay(writer, settings, bus, stop, start.position, progress))
            fresh_at = start.position
            for _ in range(CATCH_UP_ROUNDS):  # the live projection moved meanwhile: follow it, unlocked
                now = (await asyncio.to_thread(_read_live_checkpoint, live)).position
                if now - fresh_at <= SMALL_GAP:
                    break
                replayed.add(await replay(writer, settings, bus, stop, now))
                fresh_at = now

            async def catch_up(position: int) -> None:
                replayed.add(await replay(writer, settings, bus, stop, position))

            swapped = await swap_in(tables, catch_up)
        finally:
            await asyncio.to_thread(tables.drop)
        log.info("swapped in at position %d", swapped.position)
        return replayed, swapped
    finally:
        live.dispose()


# ----------------------------------------------------------------------------- rebuild, then compare
async def check(settings: ProjectionSettings, bus: BusSettings, stop: asyncio.Event,
                progress: ProgressFactory | None = None, limit: int = 20) -> Comparison:
    """Rebuild the read models into fresh tables up to the live position, then compare them with a
    snapshot of the live tables at exactly that position (a read-only transaction: PostgreSQL
    REPEATABLE READ, SQLite's WAL snapshot), while the live projection goes on. The live tables are
    only read; the fresh ones are dropped afterwards."""
    live = _read_only_engine(settings.database_url)
    try:
        start = await _start(live, bus)
        tables = fresh_tables(settings.database_url, settings.sqlite_writing())
        log.info("checking the read models of %s against a rebuild in fresh tables (%s)",
                 safe_url(settings.database_url), tables.where)
        try:
            await asyncio.to_thread(tables.create)
            writer = tables.engine(writer=True)
            await replay(writer, settings, bus, stop, start.position, progress)
            async with HeldConnection(live, "desk-check") as held:
                snapshot = await held.call(_open_snapshot)
                if snapshot.position < start.position:
                    raise Refused(f"the live position went back from {start.position} to {snapshot.position}")
                await replay(writer, settings, bus, stop, snapshot.position)
                return await held.call(_compare, tables, snapshot, limit)
        finally:
            await asyncio.to_thread(tables.drop)
    finally:
        live.dispose()


def _read_only_engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _query_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")
    return engine


def _open_snapshot(conn: Connection) -> Checkpoint:
    """Begin the transaction every later read of the live tables sees, and read its position."""
    conn.begin()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    return read_checkpoint(conn, CHECKPOINT) or Checkpoint(0, None)


def _compare(conn: Connection, tables: FreshTables, live: Checkpoint, limit: int) -> Comparison:
    with tables.engine().connect() as rebuilt:
        fresh = read_checkpoint(rebuilt, CHECKPOINT) or Checkpoint(0, None)
        if fresh.position != live.position:
            raise RuntimeError(f"the rebuild is at {fresh.position}, the live tables at {live.position}")
        comparison = compare(conn, rebuilt, live.position, limit)
    counts = TableCounts("checkpoints", 1, 1)
    if fresh.fingerprint and live.fingerprint and fresh.fingerprint != live.fingerprint:
        counts.changed = 1  # the live read models were projected from another log
        comparison.add(Difference("checkpoints", (CHECKPOINT,), "fingerprint", live.fingerprint, fresh.fingerprint))
    comparison.tables.append(counts)
    return comparison


# ----------------------------------------------------------------------------- the live database
async def _start(live: Engine, bus: BusSettings) -> Checkpoint:
    """The live position, once the live database and the log are known to suit a rebuild."""
    checkpoint = await asyncio.to_thread(_live_checkpoint, live)
    last = await stream_last_sequence(bus)
    if last < checkpoint.position:
        raise Refused(f"the log {bus.stream_name} ends at sequence {last}, before the live position "
                      f"{checkpoint.position}: it is not the log these read models were projected from")
    return checkpoint


def _live_checkpoint(live: Engine) -> Checkpoint:
    """The live checkpoint; Refused unless the live schema is this program's (the fresh tables are
    made and written by this program)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with live.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            raise Refused(f"{safe_url(str(live.url))} holds no read models (run the projection first)")
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    if revision != head:
        raise Refused(f"the live schema is at revision {revision}, this program's at {head}: run this release's "
                      "projection on it first")
    return _read_live_checkpoint(live)


def _read_live_checkpoint(live: Engine) -> Checkpoint:
    with live.connect() as conn:
        return read_checkpoint(conn, CHECKPOINT) or Checkpoint(0, None)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "desk_projection:migrations")
    return config
