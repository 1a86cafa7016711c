"""Where fresh read-model tables live, beside the live ones, and engines that reach them.

The projector writes through precompiled SQL with unqualified table names (`batch_io.Many` runs
`exec_driver_sql`), which SQLAlchemy's `schema_translate_map` never sees. So the fresh tables are
reached the way the database itself resolves an unqualified name: on PostgreSQL a schema of their
own first on the search_path; on SQLite a file of their own, the fresh engine's main database.
The swap reaches them from a live connection by their qualifier (the schema, or the alias the
fresh file is attached under)."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url

from desk_projection.database import SqliteWriting, make_engine, migrate
from desk_projection.tables import READ_MODEL_TABLES

SCHEMA_PREFIX = "desk_fresh_"
"""PostgreSQL: fresh tables are in a schema named so (one per run), dropped at the end."""
SQLITE_ALIAS = "desk_fresh"
"""SQLite: the name the fresh file is attached under on the swap's live connection."""
SQLITE_MARK = ".fresh-"
"""SQLite: the fresh file is the live file's name + this + a token, in the live file's directory."""


class Unsupported(RuntimeError):
    """This database cannot hold fresh tables beside its live ones (an in-memory SQLite, say)."""


class FreshTables(ABC):
    """One set of fresh read-model tables in the live database of `live_url`. Engines made here are
    disposed by `drop`, which also removes the tables."""

    def __init__(self, live_url: str, writing: SqliteWriting) -> None:
        self.live_url = live_url
        self._writing = writing
        self._engines: dict[str, Engine] = {}
        self._made = False
        """Whether `create` began making anything: only then does `drop` remove anything."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where they are, for people."""

    @property
    @abstractmethod
    def qualifier(self) -> str:
        """The schema name under which `live_engine()`'s connections see the fresh tables."""

    @abstractmethod
    def create(self) -> None:
        """Empty tables like the live ones (the live schema must be at this program's revision)."""

    @abstractmethod
    def _make_engine(self, kind: str) -> Engine: ...

    @abstractmethod
    def _remove(self) -> None: ...

    def engine(self, *, writer: bool = False) -> Engine:
        """An engine on which the read-model tables' unqualified names are the fresh tables."""
        return self._engine("writer" if writer else "reader")

    def live_engine(self) -> Engine:
        """An engine on the live database whose connections also reach the fresh tables as `qualifier`."""
        return self._engine("live")

    def _engine(self, kind: str) -> Engine:
        if kind not in self._engines:
            self._engines[kind] = self._make_engine(kind)
        return self._engines[kind]

    def drop(self) -> None:
        """Dispose of every engine made here, then remove the tables (whatever state `create` left them in)."""
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()
        if self._made:
            self._remove()


class SqliteFreshTables(FreshTables):
    def __init__(self, live_url: str, writing: SqliteWriting) -> None:
        super().__init__(live_url, writing)
        url = make_url(live_url)
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise Unsupported(f"{url.database or 'an in-memory database'}: fresh tables need a SQLite file")
        live = Path(url.database)
        self.path = live.with_name(f"{live.name}{SQLITE_MARK}{uuid.uuid4().hex[:12]}")
        self._url = url.set(database=str(self.path)).render_as_string(hide_password=False)

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def qualifier(self) -> str:
        return SQLITE_ALIAS

    def create(self) -> None:
        if self.path.exists():
            raise FileExistsError(self.path)
        self._made = True
        migrate(self.engine(writer=True))  # the same revision as the live file: checked by the caller

    def _make_engine(self, kind: str) -> Engine:
        if kind == "writer":
            return make_engine(self._url, writer=True, sqlite=self._writing)
        if kind == "reader":
            return make_engine(self._url)
        live = make_engine(self.live_url)  # begins DEFERRED: the swap locks only the live file
        path = str(self.path)

        @event.listens_for(live, "connect")
        def _attach(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"ATTACH DATABASE ? AS {SQLITE_ALIAS}", (path,))

        return live

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class PostgresFreshTables(FreshTables):
    def __init__(self, live_url: str, writing: SqliteWriting) -> None:
        super().__init__(live_url, writing)
        self.schema = f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:12]}"

    @property
    def where(self) -> str:
        return f"schema {self.schema}"

    @property
    def qualifier(self) -> str:
        return self.schema

    def create(self) -> None:
        """Each table LIKE its live one INCLUDING ALL: the same columns, defaults, constraints and
        indexes (the text-search index too), whatever migration made them."""
        self._made = True
        with self.live_engine().begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            conn.exec_driver_sql(f"CREATE SCHEMA {quote(self.schema)}")
            for table in READ_MODEL_TABLES:
                conn.exec_driver_sql(f"CREATE TABLE {quote(self.schema)}.{quote(table.name)} "
                                     f"(LIKE {quote(table.name)} INCLUDING ALL)")

    def _make_engine(self, kind: str) -> Engine:
        engine = make_engine(self.live_url, writer=kind == "writer")
        if kind == "live":
            return engine
        search_path = f'SET search_path TO "{self.schema}"'

        @event.listens_for(engine, "connect", insert=True)  # before the dialect first looks at the connection
        def _aim(dbapi_connection: Any, _record: Any) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            with dbapi_connection.cursor() as cursor:
                cursor.execute(search_path)
            dbapi_connection.autocommit = autocommit

        return engine

    def _remove(self) -> None:
        engine = make_engine(self.live_url)
        try:
            with engine.begin() as conn:
                if inspect(conn).has_schema(self.schema):
                    conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        finally:
            engine.dispose()


def fresh_tables(live_url: str, writing: SqliteWriting | None = None) -> FreshTables:
    """Fresh tables (not yet created: `create`) in the database of `live_url`."""
    backend = make_url(live_url).get_backend_name()
    if backend == "sqlite":
        return SqliteFreshTables(live_url, writing or SqliteWriting())
    if backend == "postgresql":
        return PostgresFreshTables(live_url, writing or SqliteWriting())
    raise Unsupported(f"fresh tables are not implemented for {backend}")
