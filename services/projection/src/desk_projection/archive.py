"""Archives: read models as they were at a moment of the log (made by `desk-projection replay`,
see `point_in_time`), served read-only by `desk-projection serve` for auditors.

An archive is a database of its own whose `as_of` table holds one row: the last stream sequence
replayed, when the log stored that message, and the time the auditor asked for, if any. `serve`
finds that row and then serves the database as an archive whatever DESK_PROJECTION_ARCHIVE says:
no log reader, no migration, connections that cannot write, "now" frozen at the archive's moment
(charts, trends, deadlines), the officers' actions refused, a banner on every page. People sign in
as usual (sessions come over NATS), and a reporter's personal data is shown to desk officers and
auditors only after the showing is recorded in the log (`AccessRecorded`), as on the live board."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine

from desk_projection.daily.pdf import MONTHS
from desk_projection.database import make_engine
from desk_projection.responses import AsOf, as_utc
from desk_projection.settings import DESK_TIME_ZONE
from desk_projection.tables import as_of as as_of_table
from desk_shared.runtime.log_reader import ReaderStatus

READ_ONLY_REFUSAL = ("Arsip hanya-baca: papan ini menampilkan keadaan masa lalu; tindakan hanya dapat diambil di "
                     "papan yang sedang berjalan.")
"""The answer (409) to an officer's action on an archive."""


class NotAnArchive(RuntimeError):
    """The database cannot be served as an archive (no as-of record, or another schema revision)."""


@dataclass(frozen=True)
class AsOfRecord:
    sequence: int
    """The last stream sequence replayed into the archive."""
    stored_at: datetime
    """When the log stored the message at `sequence` (UTC, to the microsecond)."""
    asked_for: datetime | None
    """The time the auditor asked for (None: a sequence was asked for)."""
    stream: str
    replayed_at: datetime

    @property
    def moment(self) -> datetime:
        """The archive's "now": the time asked for, else the time its last event was stored."""
        return self.asked_for or self.stored_at

    def clock(self) -> datetime:
        return self.moment

    def label(self) -> str:
        """'Arsip — keadaan per 14 Februari 2024 10.00 WIB (urutan log 12345, ...)'."""
        detail = f"sampai urutan log {self.sequence}"
        if self.asked_for is not None:
            detail += f", peristiwa terakhir tersimpan {wib(self.stored_at)}"
        return f"Arsip — keadaan per {wib(self.moment)} ({detail})"

    def response(self) -> AsOf:
        return AsOf(sequence=self.sequence, stored_at=self.stored_at, asked_for=self.asked_for, label=self.label())

    def banner(self) -> str:
        """The banner every board page carries (HTML)."""
        return f'<p class="arsip" role="note" id="arsip">{html.escape(self.label())}</p>'


def wib(at: datetime) -> str:
    """'14 Februari 2024 10.00 WIB' (seconds only when there are some)."""
    local = at.astimezone(DESK_TIME_ZONE)
    clock = local.strftime("%H.%M.%S" if local.second or local.microsecond else "%H.%M")
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {clock} WIB"


def read_as_of(engine: Engine) -> AsOfRecord | None:
    """The database's as-of record; None in a live database (or one not migrated that far)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(as_of_table.name):
            return None
        row = conn.execute(sa.select(as_of_table).where(as_of_table.c.id == 1)).one_or_none()
    if row is None:
        return None
    return AsOfRecord(int(row.sequence), _utc(row.stored_at), as_utc(row.asked_for), row.stream,
                      _utc(row.replayed_at))


def record_as_of(engine: Engine, record: AsOfRecord) -> None:
    with engine.begin() as conn:
        conn.execute(as_of_table.insert().values(id=1, sequence=record.sequence, stored_at=record.stored_at,
                                                 asked_for=record.asked_for, stream=record.stream,
                                                 replayed_at=record.replayed_at))


def _utc(at: datetime) -> datetime:
    found = as_utc(at)
    assert found is not None
    return found


def read_only_engine(url: str) -> Engine:
    """A reading engine whose connections refuse to write (SQLite `query_only`; PostgreSQL read-only
    transactions), so nothing served from an archive can change it."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")  # after make_engine's own (WAL, timeouts)
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        if engine.dialect.name == "sqlite":
            dbapi_connection.execute("PRAGMA query_only=ON")
            return
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_connection.autocommit = autocommit

    return engine


def require_current_schema(engine: Engine) -> None:
    """NotAnArchive unless the archive's schema is this program's (an archive is never migrated:
    one made by another release is made again with this one)."""
    config = Config()
    config.set_main_option("script_location", "desk_projection:migrations")
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    if revision != head:
        raise NotAnArchive(f"the archive's schema is at revision {revision}, this program's at {head}: make the "
                           "archive again with this release (desk-projection replay)")


class ArchiveStream:
    """What /health is told of the log in an archive: it ends where the archive does (lag 0)."""

    def __init__(self, record: AsOfRecord) -> None:
        self._record = record

    async def stream_last_sequence(self) -> int | None:
        return self._record.sequence

    def status(self) -> ReaderStatus:
        return ReaderStatus()
