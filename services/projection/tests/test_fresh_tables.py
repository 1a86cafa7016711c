"""Fresh read-model tables in the live database (SQLite and PostgreSQL): the swap holds a live
projector's batch off and that batch then builds on the swapped rows; the comparison walks keys in
the database's order and names what differs; `check` and `rebuild --swap` as commands on a real log."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk_projection.__main__ import main
from desk_projection.database import make_engine, migrate
from desk_projection.fresh_tables.compare import compare
from desk_projection.fresh_tables.place import FreshTables, fresh_tables
from desk_projection.fresh_tables.swap import swap_in
from desk_projection.projector import Delivered, Projector
from desk_projection.tables import READ_MODEL_TABLES, area_levels, assignments, incidents, reports, timeline
from desk_shared.contracts.events import AlertDelivered, Event
from desk_shared.runtime.log_reader import BatchResult
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples
from desk_testing.fixtures import bus_env, table_rows

HELD_SECONDS = 0.6
"""How long the test watches a live batch wait for the swap."""


def project(engine: Engine, events: list[Event], start: int = 0) -> BatchResult:
    return Projector(engine).apply_batch(start, [Delivered(start + i + 1, e) for i, e in enumerate(events)])


def all_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    return {table.name: table_rows(engine, table) for table in READ_MODEL_TABLES}


def leftovers(engine: Engine, directory: Path) -> list[str]:
    """Fresh tables a run left behind: SQLite files beside the live one, PostgreSQL schemas."""
    if engine.dialect.name == "sqlite":
        return [p.name for p in directory.glob("*.fresh-*")]
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata "
                                          "WHERE schema_name LIKE 'desk_fresh_%'")).scalars())


def assert_full_text_index_right(engine: Engine) -> None:
    """SQLite: the FTS5 index over reports.text (migration 0007, kept by triggers) matches the rows."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite" or not sa.inspect(conn).has_table("reports_fts"):
            return
        conn.exec_driver_sql("INSERT INTO reports_fts(reports_fts, rank) VALUES ('integrity-check', 1)")
        matched = conn.exec_driver_sql("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'amplop'").scalar()
        contain = conn.exec_driver_sql("SELECT count(*) FROM reports WHERE text LIKE '%amplop%'").scalar()
        assert matched == contain > 0


@pytest.fixture
def fresh(database_url: str, engine: Engine) -> Iterator[FreshTables]:
    """Created fresh tables beside the (migrated) live ones; dropped afterwards."""
    tables = fresh_tables(database_url)
    tables.create()
    yield tables
    tables.drop()


async def test_a_live_batch_waits_for_the_swap_then_builds_on_the_swapped_rows(
        engine: Engine, fresh: FreshTables, second_database_url: str, tmp_path: Path) -> None:
    events = samples.sample_log(40)
    held = max(i for i, e in enumerate(events) if isinstance(e, AlertDelivered))
    incident_id = events[held].payload.incident_id  # type: ignore[attr-defined]
    project(engine, events[:held])
    with engine.begin() as conn:  # a live row gone wrong: the swap repairs it, the held batch must build on that
        conn.execute(incidents.update().where(incidents.c.incident_id == incident_id)
                     .values(severity="rendah", alerts_delivered=50))
    outcome: dict[str, Any] = {}

    def live_batch() -> None:
        started = time.monotonic()
        outcome["result"] = project(engine, [events[held]], held)
        outcome["seconds"] = time.monotonic() - started

    live_projector = threading.Thread(target=live_batch)

    async def catch_up(position: int) -> None:
        assert position == held
        live_projector.start()  # its batch arrives while the swap holds the lock
        await asyncio.sleep(HELD_SECONDS)
        outcome["held"] = live_projector.is_alive()
        project(fresh.engine(writer=True), events[:position])

    swapped = await swap_in(fresh, catch_up)
    live_projector.join(15)
    assert outcome["held"], "the live batch was not held off by the swap"
    assert outcome["result"] == BatchResult(held + 1, 1, 0, 0)
    assert outcome["seconds"] >= HELD_SECONDS
    assert swapped.position == held

    expected = make_engine(second_database_url, writer=True)
    try:
        migrate(expected)
        project(expected, events[:held + 1])
        assert all_rows(engine) == all_rows(expected)  # the swap's rows, and the held batch on top of them
    finally:
        expected.dispose()
    assert swapped.rows["incidents"] == len(table_rows(engine, incidents))
    assert swapped.rows["timeline"] == held
    assert_full_text_index_right(engine)


async def test_a_swap_refuses_fresh_tables_behind_the_live_ones(engine: Engine, fresh: FreshTables) -> None:
    events = samples.sample_log(5)
    project(engine, events)
    before = all_rows(engine)

    async def lagging(position: int) -> None:
        project(fresh.engine(writer=True), events[:position - 1])

    with pytest.raises(RuntimeError, match="fresh tables are at position"):
        await swap_in(fresh, lagging)
    assert all_rows(engine) == before
    project(engine, samples.incident_story(5), len(events))  # the lock is gone: the live projector goes on


def test_the_comparison_walks_string_keys_in_order_and_names_each_difference(engine: Engine,
                                                                              fresh: FreshTables) -> None:
    incident = uuid.UUID(int=7)
    at = datetime(2024, 11, 27, 8, 0, tzinfo=UTC)
    agencies = ["b", "B", "a-b", "ab", "a_c", "a c", "Z", "kpu", "ümit", "kpu-gayo"]  # collations disagree on these

    def assignment(agency: str, reason: str = "routing") -> dict[str, Any]:
        return {"incident_id": incident, "agency": agency, "kecamatan_code": "11.13.01", "reason": reason,
                "severity": "tinggi", "assigned_at": at, "acknowledge_by": at, "act_by": at, "acknowledged_at": None,
                "acted_at": None, "finished_at": None, "overdue": [], "last_seq": 1}

    def level(code: str) -> dict[str, Any]:
        return {"kecamatan_code": code, "level": "siaga", "previous": "aman", "score": 2.5, "reason": "r",
                "since": at, "last_seq": 1}

    codes = ["11.13.10", "11.13.1", "11.13.02", "11.13-01"]
    if engine.dialect.name == "postgresql":  # a database whose default collation is a language's, as most are
        for side in (engine, fresh.engine(writer=True)):
            with side.begin() as conn:
                for column, table in (("agency", "assignments"), ("kecamatan_code", "area_levels")):
                    conn.exec_driver_sql(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(40) '
                                         'COLLATE "und-x-icu"')
    with engine.begin() as conn:
        conn.execute(assignments.insert(), [assignment(a) for a in agencies if a != "kpu-gayo"])
        conn.execute(area_levels.insert(), [level(c) for c in codes])
    with fresh.engine(writer=True).begin() as conn:
        conn.execute(assignments.insert(), [assignment(a, "other" if a == "ab" else "routing")
                                            for a in agencies if a != "Z"])
        conn.execute(area_levels.insert(), [level(c) for c in codes])
    with engine.connect() as live, fresh.engine().connect() as rebuilt:
        found = compare(live, rebuilt, 1, limit=10)
    assert [(d.table, d.key, d.column) for d in found.shown] == [  # in Python's (byte-wise) order of the keys
        ("assignments", (incident, "Z"), None), ("assignments", (incident, "ab"), "reason"),
        ("assignments", (incident, "kpu-gayo"), None)]
    assert [d.describe() for d in found.shown] == [
        f"assignments ({incident}, Z): only in the live tables",
        f"assignments ({incident}, ab): reason: live 'routing', rebuilt 'other'",
        f"assignments ({incident}, kpu-gayo): only in the rebuild"]
    counts = {c.name: c for c in found.tables}
    assert (counts["assignments"].changed, counts["assignments"].only_live, counts["assignments"].only_rebuilt) == (
        1, 1, 1)
    assert counts["area_levels"].differing == 0 and counts["area_levels"].live_rows == len(codes)
    assert not found.identical and "DIFFERENT: 3 row(s)" in found.report()


def test_check_finds_nothing_then_names_a_corrupted_row_and_a_swap_repairs_it(
        bus: BusSettings, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in bus_env(bus).items():
        monkeypatch.setenv(name, value)
    events = samples.sample_log(60)
    asyncio.run(samples.publish_log(bus, events))
    assert main(["rebuild", "--swap", "--database-url", database_url, "--no-progress"]) == 2  # no read models yet
    assert main(["rebuild", "--database-url", database_url, "--no-progress"]) == 0
    live = sa.create_engine(database_url)
    try:
        capsys.readouterr()
        assert main(["check", "--database-url", database_url, "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert f"at position {len(events)}" in out and "IDENTICAL" in out, out

        triaged = events[1].payload  # report 0's incident: severity rendah
        with live.begin() as conn:
            changed = conn.execute(incidents.update().where(incidents.c.incident_id == triaged.incident_id)
                                   .values(severity="kritis")).rowcount
            conn.execute(timeline.delete().where(timeline.c.stream_seq == 7))
        assert changed == 1
        corrupted = all_rows(live)
        assert main(["check", "--database-url", database_url, "--no-progress", "--show", "1"]) == 1
        out = capsys.readouterr().out
        assert f"incidents {triaged.incident_id}: severity: live 'kritis', rebuilt 'rendah'" in out, out
        assert f"timeline: {len(events) - 1} rows live, {len(events)} rebuilt; 1 only rebuilt" in out, out
        assert "... and 1 more" in out and "DIFFERENT: 2 row(s)" in out, out
        assert all_rows(live) == corrupted, "check changed the live tables"
        assert leftovers(live, tmp_path) == []

        assert main(["rebuild", "--database-url", database_url, "--no-progress"]) == 2  # not empty: refused
        assert main(["rebuild", "--database-url", database_url, "--swap", "--no-progress"]) == 0
        assert f"swapped: the live read models are now a rebuild from the log at position {len(events)}" in (
            capsys.readouterr().out)
        assert main(["check", "--database-url", database_url, "--no-progress"]) == 0
        assert "IDENTICAL" in capsys.readouterr().out
        with live.connect() as conn:
            assert conn.execute(sa.select(incidents.c.severity)
                                .where(incidents.c.incident_id == triaged.incident_id)).scalar() == "rendah"
            assert conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar() == 60
        assert_full_text_index_right(live)
        assert leftovers(live, tmp_path) == []
    finally:
        live.dispose()
