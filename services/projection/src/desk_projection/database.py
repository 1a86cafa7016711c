"""Engines and schema migration for the read models (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

MIGRATION_LOCK = 0x6465736B70726F6A
"""PostgreSQL advisory lock key ("deskproj") held while one instance migrates the schema."""
WAL_SWITCH_SECONDS = 10.0


@dataclass(frozen=True)
class SqliteWriting:
    """How the SQLite writer uses memory. Batches insert into indexes keyed by random UUIDs: with
    SQLite's default 2 MB page cache a growing database is read back page by page and every commit
    rewrites pages just evicted (a rebuild slowed from 10,000 to 6,000 events/s by 300,000 events);
    a larger cache, memory-mapped reads and fewer WAL checkpoints keep it near its starting rate."""

    cache_mb: int = 128
    mmap_mb: int = 512
    wal_autocheckpoint_pages: int = 20_000


def make_engine(url: str, *, writer: bool = False, sqlite: SqliteWriting | None = None) -> Engine:
    """An engine for the projection (`writer=True`) or for the API's reads.

    SQLite: WAL so the API reads while the projection writes, a busy timeout instead of
    instant "database is locked", and SQLAlchemy in charge of BEGIN (the sqlite3 driver's
    legacy mode starts no transaction for SELECT or DDL). The writer begins IMMEDIATE: it
    holds the write lock from its first statement, so two projection instances serialize
    and the guarded checkpoint update decides which batch wins. `synchronous=NORMAL` is
    safe against process crashes in WAL mode; a power loss can only lose whole recent
    transactions, checkpoint included, and those are replayed from the log. The writer also
    gets the memory settings of `sqlite` (SqliteWriting's defaults when None)."""
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, "BEGIN IMMEDIATE" if writer else "BEGIN",
                          (sqlite or SqliteWriting()) if writer else None)
    return engine


def _configure_sqlite(engine: Engine, begin: str, writing: SqliteWriting | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        if writing is not None:
            cursor.execute(f"PRAGMA cache_size=-{int(writing.cache_mb) * 1024}")
            cursor.execute(f"PRAGMA mmap_size={int(writing.mmap_mb) * 1024 * 1024}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(writing.wal_autocheckpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Instances opening a fresh file at the same moment all switch it to WAL, which takes the
    exclusive lock: SQLite answers "database is locked" at once, without the busy wait, to one
    that could deadlock (it holds a shared lock while another waits for the exclusive one). Retry."""
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic, configured in code: no alembic.ini).

    Replicas starting together on one fresh database migrate one after the other: otherwise
    both would find no schema and both create it, and on PostgreSQL the second dies on a
    duplicate key. PostgreSQL: a transaction-level advisory lock, taken before Alembic looks at
    the schema; SQLite: the writer engine's BEGIN IMMEDIATE already holds the write lock."""
    config = Config()
    config.set_main_option("script_location", "desk_projection:migrations")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
