"""`desk-projection replay --until <time or sequence> --database-url URL`: the read models as they
were at a moment of the log, built into an empty database of their own (an archive, see `archive`);
the live read models are never touched.

- `--until 12345`: up to and including the message at that stream sequence.
- `--until 2024-02-14T10:00+07:00` (ISO 8601 with its offset; `Z` for UTC): up to and including the
  last message the log stored at or before that time, to the microsecond. The time is the one
  JetStream stored the message at, not the event's own `occurred_at`: what the desk knew then.
  It is found by a binary search over single-message reads (`$JS.API.DIRECT.GET`, which the
  read-only `auditor` NATS user may use), relying on stored times never decreasing along the log
  (they are given by the stream's leader as it stores each message).
- The target must hold no read models (exit 2 otherwise), and must not be the live database
  (DESK_PROJECTION_DATABASE_URL). A time before the log's first message, or a sequence the log does
  not hold, is refused too (exit 2).
- The replay is the rebuild's (`bootstrap.rebuild`: the projection's own reader and projector, up to
  an exact sequence). When it is complete, the archive's `as_of` row is written: the sequence, the
  time the log stored that message, and the time asked for. Interrupted (exit 1), the database holds
  a partial replay and no as-of row: remove it and replay again."""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from nats.aio.client import Client
from nats.js.api import Header
from nats.js.errors import NotFoundError
from sqlalchemy.engine import make_url

from desk_projection import queries
from desk_projection.archive import AsOfRecord, record_as_of
from desk_projection.bootstrap import rebuild, safe_url, tune_garbage_collector
from desk_projection.database import make_engine
from desk_projection.fresh_tables.replay import ProgressFactory
from desk_projection.settings import ProjectionSettings
from desk_projection.tables import as_of
from desk_shared.runtime.bus import connect
from desk_shared.runtime.process import run_until_stopped
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

CLIENT_NAME = "desk-projection-replay"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TIME_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
"""JetStream's stored time of a message (`Nats-Time-Stamp`): RFC 3339 with up to nanoseconds."""


class Unresolvable(ValueError):
    """The moment asked for is not in the log."""


@dataclass(frozen=True)
class Stored:
    """A message of the log: its sequence and the time the log stored it."""

    sequence: int
    stored_ns: int
    """Nanoseconds since 1970 (UTC), as JetStream keeps it."""

    @property
    def stored_us(self) -> int:
        return self.stored_ns // 1000

    @property
    def stored_at(self) -> datetime:
        """To the microsecond (truncated): what is recorded and compared."""
        return EPOCH + timedelta(microseconds=self.stored_us)


def parse_until(text: str) -> int | datetime:
    """A stream sequence, or an aware time in UTC; ValueError saying what is wrong."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--until {text!r} is neither a stream sequence number nor an ISO 8601 date-time with its "
                         "offset (e.g. 2024-02-14T10:00+07:00)") from None
    if at.tzinfo is None:
        raise ValueError(f"--until {text!r} has no offset: say which time zone, e.g. +07:00 (WIB) or Z (UTC)")
    return at.astimezone(UTC)


def microseconds(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def nanoseconds(stamp: str) -> int:
    found = TIME_STAMP.match(stamp)
    if found is None:
        raise ValueError(f"not a stored time: {stamp!r}")
    whole = datetime.fromisoformat(found[1] + ("+00:00" if found[3] == "Z" else found[3]))
    return calendar.timegm(whole.utctimetuple()) * 10**9 + int((found[2] or "").ljust(9, "0"))


# ----------------------------------------------------------------------------- where the moment is in the log
async def resolve(bus: BusSettings, until: int | datetime) -> Stored:
    """The last message of the log to replay: the one at sequence `until`, or the last one stored at
    or before the time `until`. Unresolvable when the log holds no such message."""
    nc = await asyncio.wait_for(connect(bus, CLIENT_NAME), 10)
    stream = bus.stream_name
    try:
        try:
            state = (await nc.jetstream().stream_info(stream)).state
        except NotFoundError:
            raise Unresolvable(f"there is no log {stream} on {', '.join(bus.servers)}") from None
        first, last = int(state.first_seq), int(state.last_seq)
        if not state.messages:
            raise Unresolvable(f"the log {stream} is empty")
        if isinstance(until, int):
            found = await stored(nc, stream, until, exact=True) if first <= until <= last else None
            if found is None:
                raise Unresolvable(f"the log {stream} holds no message at sequence {until} (it holds {first}..{last})")
            return found
        return await last_stored_by(nc, stream, first, last, until)
    finally:
        await nc.close()


async def last_stored_by(nc: Client, stream: str, first: int, last: int, until: datetime) -> Stored:
    """Binary search between `first` and `last` for the last message stored at or before `until`."""
    limit = microseconds(until)
    best = await stored(nc, stream, first, exact=False)
    if best is None or best.stored_us > limit:
        when = f" (stored {best.stored_at.isoformat()})" if best else ""
        raise Unresolvable(f"{until.isoformat()} is before the first message of the log {stream}{when}")
    high = last  # every message after `high` was stored after `until`; `best` at or before it
    while best.sequence < high:
        middle = (best.sequence + high + 1) // 2
        probe = await stored(nc, stream, middle, exact=False)
        if probe is not None and probe.sequence <= high and probe.stored_us <= limit:
            best = probe
        else:
            high = middle - 1
    return best


async def stored(nc: Client, stream: str, seq: int, *, exact: bool) -> Stored | None:
    """The message at `seq` (`exact`), or the first one at or after it; None when there is none."""
    request = {"seq": seq} if exact else {"seq": seq, "next_by_subj": ">"}
    answer = await nc.request(f"$JS.API.DIRECT.GET.{stream}", json.dumps(request).encode(), timeout=5)
    headers = answer.headers or {}
    status = headers.get(Header.STATUS)
    if status == "404":
        return None
    if status:
        raise RuntimeError(f"reading sequence {seq} of {stream}: {status} {headers.get(Header.DESCRIPTION, '')}")
    return Stored(int(headers["Nats-Sequence"]), nanoseconds(headers["Nats-Time-Stamp"]))


# ----------------------------------------------------------------------------- the target database
def same_database(url: str, other: str) -> bool:
    """Whether two URLs name one database (a SQLite file by its resolved path)."""
    mine = _identity(url)
    return mine is not None and mine == _identity(other)


def _identity(url: str) -> tuple[str, ...] | None:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        name = parsed.database or ""
        if name in ("", ":memory:"):
            return None  # a database of its own each time
        return backend, name if name.startswith("file:") else str(Path(name).resolve())
    port = parsed.port or (5432 if backend == "postgresql" else None)
    return backend, (parsed.host or "localhost").lower(), str(port or ""), parsed.database or ""


def target_refusal(url: str) -> str | None:
    """Why the database at `url` cannot take a replay (None: it can: no read models in it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not parsed.database.startswith("file:") \
            and parsed.database != ":memory:" and not Path(parsed.database).exists():
        return None  # made by the replay (not now: a refused replay leaves nothing behind)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            if inspector.has_table(as_of.name) and conn.execute(sa.select(sa.func.count()).select_from(as_of)).scalar():
                return "it already holds an archive"
            if inspector.has_table("checkpoints") and (position := queries.position(conn)) > 0:
                return f"it already holds read models (at position {position})"
    except sa.exc.SQLAlchemyError as exc:
        return f"it cannot be opened: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


# ----------------------------------------------------------------------------- the command
def replay_command(until_text: str, database_url: str, bus: BusSettings, progress: ProgressFactory | None) -> int:
    """0 made, 1 interrupted (a partial replay is left: remove it), 2 refused (nothing written)."""
    try:
        until = parse_until(until_text)
    except ValueError as exc:
        return _refused(str(exc))
    if same_database(database_url, ProjectionSettings().database_url):
        return _refused(f"{safe_url(database_url)} is the live database (DESK_PROJECTION_DATABASE_URL): an archive "
                        "goes into an empty database of its own")
    if (refusal := target_refusal(database_url)) is not None:
        return _refused(f"{safe_url(database_url)}: {refusal}; replay only into an empty database")
    settings = ProjectionSettings(database_url=database_url)
    tune_garbage_collector(settings)
    outcome: list[int] = []

    async def run(stop: asyncio.Event) -> None:
        try:
            mark = await resolve(bus, until)
        except Unresolvable as exc:
            outcome.append(_refused(str(exc)))
            return
        asked = f" (the last stored at or before {until.isoformat()})" if isinstance(until, datetime) else ""
        log.info("replaying %s up to sequence %d%s, stored %s", bus.stream_name, mark.sequence, asked,
                 mark.stored_at.isoformat())
        totals = await rebuild(settings, bus, stop, progress, stop_at=mark.sequence)
        if totals is None:
            outcome.append(2)
            return
        if totals.position != mark.sequence:
            print(f"interrupted at position {totals.position} of {mark.sequence}: {safe_url(database_url)} holds a "
                  "partial replay; remove it before replaying again", flush=True)
            outcome.append(1)
            return
        record = AsOfRecord(mark.sequence, mark.stored_at, until if isinstance(until, datetime) else None,
                            bus.stream_name, datetime.now(UTC))
        writer = make_engine(database_url, writer=True)
        try:
            await asyncio.to_thread(record_as_of, writer, record)
        finally:
            writer.dispose()
        print(f"replayed: the read models as of sequence {mark.sequence} (stored {mark.stored_at.isoformat()}"
              f"{asked}) into {safe_url(database_url)}: applied {totals.applied} events, ignored {totals.ignored} "
              f"(types the projection does not use), skipped {totals.skipped}", flush=True)
        outcome.append(0)

    run_until_stopped(run)
    return outcome[0] if outcome else 1


def _refused(why: str) -> int:
    print(f"replay refused: {why}", file=sys.stderr, flush=True)
    return 2
