"""Engines and schema migration for the read models (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


def make_engine(url: str, *, writer: bool = False) -> Engine:
    """An engine for the projection (`writer=True`) or for the API's reads.

    SQLite: WAL so the API reads while the projection writes, a busy timeout instead of
    instant "database is locked", and SQLAlchemy in charge of BEGIN (the sqlite3 driver's
    legacy mode starts no transaction for SELECT or DDL). The writer begins IMMEDIATE: it
    holds the write lock from its first statement, so two projection instances serialize
    and the guarded checkpoint update decides which batch wins. `synchronous=NORMAL` is
    safe against process crashes in WAL mode; a power loss can only lose whole recent
    transactions, checkpoint included, and those are replayed from the log."""
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, "BEGIN IMMEDIATE" if writer else "BEGIN")
    return engine


def _configure_sqlite(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic, configured in code: no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", "desk_projection:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
