"""Point in time (issue 20): `desk-projection replay --until <sequence or time>` builds the read models
as they were then into an empty database of their own, and `desk-projection serve` serves such an
archive read-only with a banner on every page (SQLite and PostgreSQL, a real nats-server).

The replays are compared row for row with a projection of a log holding only the messages up to
that point; the live database's rows stay identical; refusals leave nothing behind; the moment is
found exactly at the boundaries, also as the read-only `auditor` NATS user."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from desk_access.nats_authorization import AUDITOR, OPERATOR
from desk_pemilu.embedded_nats import free_port
from desk_pemilu.nats_users import secured_nats
from desk_pemilu.processes import ServiceProcess, service_command
from desk_projection.__main__ import main
from desk_projection.archive import read_as_of, read_only_engine
from desk_projection.database import make_engine, migrate
from desk_projection.point_in_time import Stored, Unresolvable, resolve
from desk_projection.projector import Projector
from desk_projection.settings import DESK_TIME_ZONE
from desk_projection.tables import READ_MODEL_TABLES, as_of
from desk_shared.contracts.envelope import UnknownEventType, decode_event
from desk_shared.contracts.events import AlertDelivered, AlertFailed, Event
from desk_shared.contracts.people import Role
from desk_shared.runtime.bus import connect
from desk_shared.runtime.log_reader import Delivered
from desk_shared.runtime.positions import message_fingerprint
from desk_shared.runtime.settings import BusSettings
from desk_testing import samples
from desk_testing.agencies import bearer
from desk_testing.fixtures import bus_env, empty_database, read_stream, table_rows, wait_for
from desk_testing.people import person_token

pytestmark = pytest.mark.system

HELD = (2, 3, 6, 7)
"""Escalated stories whose alert outcomes come only after the moment asked for."""
PAUSE = 0.05
"""Between the two parts of the log: the moment asked for lies inside it."""


def publish(bus: BusSettings, events: list[Event]) -> int:
    return asyncio.run(samples.publish_log(bus, events))


def two_parts() -> tuple[list[Event], list[Event]]:
    """Stories 0-19 without some alert outcomes, then those outcomes (changing earlier incidents) and stories 20-29."""
    first = [e for n in range(20) for e in samples.incident_story(n)]
    held = [e for n in HELD for e in samples.incident_story(n) if isinstance(e, AlertDelivered | AlertFailed)]
    assert len(held) == 2 * len(HELD)
    return [e for e in first if e not in held], held + [e for n in range(20, 30) for e in samples.incident_story(n)]


def stored_times(bus: BusSettings, last: int) -> dict[int, datetime]:
    """Each message's stored time as the stream's own message API says (to the microsecond)."""
    async def read() -> dict[int, datetime]:
        nc = await connect(bus, "test-times")
        try:
            js = nc.jetstream()
            return {seq: (await js.get_msg(bus.stream_name, seq)).time for seq in range(1, last + 1)}  # type: ignore[misc]
        finally:
            await nc.close()

    return asyncio.run(read())


def run_command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def all_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        return {table.name: table_rows(engine, table) for table in (*READ_MODEL_TABLES, as_of)}
    finally:
        engine.dispose()


def read_models(url: str) -> dict[str, list[tuple[Any, ...]]]:
    rows = all_rows(url)
    del rows[as_of.name]
    return rows


def project_prefix(bus: BusSettings, url: str, upto: int) -> None:
    """The reference: the projector applied to the log's messages 1..`upto`, as a rebuild of a log
    holding only those would apply them."""
    delivered = []
    for seq, subject, data in read_stream(bus)[:upto]:
        try:
            event: Event | None = decode_event(data)
        except UnknownEventType:
            event = None
        delivered.append(Delivered(seq, event, subject, message_fingerprint(subject, data)))
    assert delivered[-1].seq == upto
    engine = make_engine(url, writer=True)
    try:
        migrate(engine)
        Projector(engine).apply_batch(0, delivered)
    finally:
        engine.dispose()


def clear(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table in READ_MODEL_TABLES:
                conn.execute(table.delete())
    finally:
        engine.dispose()


def archive_of(url: str) -> Any:
    engine = make_engine(url)
    try:
        return read_as_of(engine)
    finally:
        engine.dispose()


@pytest.fixture
def databases(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Four empty databases of the kind of `database_url` (it is the first)."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with contextlib.ExitStack() as stack:
        yield [database_url, *(stack.enter_context(empty_database(request, kind, tmp_path / f"db{n}.db"))
                               for n in range(3))]


def test_a_replay_until_a_sequence_or_a_time_is_a_rebuild_of_that_much_log(
        bus: BusSettings, databases: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    live, by_sequence, by_time, reference = databases
    first, second = two_parts()
    last_first = publish(bus, first)
    time.sleep(PAUSE)
    until = datetime.now(UTC)
    time.sleep(PAUSE)
    last = publish(bus, second)
    for name, value in bus_env(bus).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DESK_PROJECTION_DATABASE_URL", live)
    assert run_command(capsys, "rebuild", "--database-url", live, "--no-progress")[0] == 0
    live_before = all_rows(live)
    times = stored_times(bus, last)
    assert times[last_first] <= until < times[last_first + 1]

    middle = last_first // 2 + 1  # inside a story: its incident half told
    code, out, err = run_command(capsys, "replay", "--until", str(middle), "--database-url", by_sequence)
    assert code == 0, out + err
    assert f"as of sequence {middle}" in out and "replay: 100%" in err, out + err
    project_prefix(bus, reference, middle)
    assert read_models(by_sequence) == read_models(reference)
    record = archive_of(by_sequence)
    assert (record.sequence, record.stored_at, record.asked_for) == (middle, times[middle], None)

    written = until.astimezone(DESK_TIME_ZONE).isoformat()  # +07:00
    code, out, err = run_command(capsys, "replay", "--until", written, "--database-url", by_time, "--no-progress")
    assert code == 0, out + err
    record = archive_of(by_time)
    assert (record.sequence, record.stored_at, record.asked_for) == (last_first, times[last_first], until)
    assert record.label().startswith(f"Arsip — keadaan per {until.astimezone(DESK_TIME_ZONE).day} ")
    replayed = read_models(by_time)
    clear(reference)  # the reference again, for the first part
    project_prefix(bus, reference, last_first)
    assert replayed == read_models(reference)
    assert replayed["incidents"] != live_before["incidents"]  # the later alert outcomes are not in it
    assert len(replayed["reports"]) == 20 and len(live_before["reports"]) == 30

    assert all_rows(live) == live_before  # byte for byte: the live read models untouched
    assert live_before["as_of"] == []  # present and empty in a live database


def test_the_moment_is_found_exactly(bus: BusSettings) -> None:
    first, second = two_parts()
    with pytest.raises(Unresolvable, match="there is no log"):
        asyncio.run(resolve(bus, 1))
    last_first = publish(bus, first)
    time.sleep(PAUSE)
    last = publish(bus, second)
    times = stored_times(bus, last)

    def found(until: int | datetime) -> Stored:
        return asyncio.run(resolve(bus, until))

    for seq in (1, last_first, last):
        assert (found(seq).sequence, found(seq).stored_at) == (seq, times[seq])
    for seq in range(1, last + 1):  # every stored time, exactly: its message and those stored with it
        assert found(times[seq]).sequence == max(s for s, t in times.items() if t <= times[seq])
    micro = timedelta(microseconds=1)
    assert found(times[last_first + 1] - micro).sequence == last_first
    assert found(times[last] + timedelta(days=400)).sequence == last
    for wrong, why in ((times[1] - micro, "before the first message"), (0, "no message at sequence 0"),
                       (last + 1, f"no message at sequence {last + 1}")):
        with pytest.raises(Unresolvable, match=why):
            found(wrong)


def test_refusals_leave_everything_as_it_was(bus: BusSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    last = publish(bus, samples.sample_log(6))
    live, other, archive = (f"sqlite:///{tmp_path / name}" for name in ("live.db", "other.db", "archive.db"))
    for name, value in bus_env(bus).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DESK_PROJECTION_DATABASE_URL", live)
    for url in (live, other):
        assert run_command(capsys, "rebuild", "--database-url", url, "--no-progress")[0] == 0
    assert run_command(capsys, "replay", "--until", "3", "--database-url", archive, "--no-progress")[0] == 0
    before = {url: all_rows(url) for url in (live, other, archive)}
    first_stored = stored_times(bus, 1)[1]
    refused = {
        f"sqlite:///{tmp_path}/./live.db": ("5", "is the live database"),
        other: ("5", "already holds read models (at position"),
        archive: ("5", "already holds an archive"),
        f"sqlite:///{tmp_path / 'new1.db'}": ((first_stored - timedelta(seconds=1)).isoformat(),
                                             "before the first message"),
        f"sqlite:///{tmp_path / 'new2.db'}": (str(last + 1), f"holds no message at sequence {last + 1}"),
        f"sqlite:///{tmp_path / 'new3.db'}": ("2024-02-14T10:00", "has no offset"),
        f"sqlite:///{tmp_path / 'new4.db'}": ("kemarin", "neither a stream sequence"),
    }
    for url, (until, why) in refused.items():
        code, out, err = run_command(capsys, "replay", "--until", until, "--database-url", url, "--no-progress")
        assert code == 2 and why in err, (url, until, out, err)
    assert not list(tmp_path.glob("new*"))
    code, out, err = run_command(capsys, "rebuild", "--swap", "--database-url", archive, "--no-progress")
    assert code == 2, out + err
    assert {url: all_rows(url) for url in (live, other, archive)} == before
    monkeypatch.setenv("DESK_PROJECTION_ARCHIVE", "true")  # but the live database holds no archive
    interval = sys.getswitchinterval()
    try:
        assert run_command(capsys, "serve")[0] == 2
    finally:
        sys.setswitchinterval(interval)  # serve set its own


def test_an_auditor_replays_with_the_read_only_nats_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    server, roles = secured_nats(tmp_path, free_port(), sync_always=False)
    server.start(log_file=tmp_path / "nats-server.log")
    try:
        first, second = two_parts()
        operator = roles.bus(server.url, OPERATOR)
        last_first = publish(operator, first)
        time.sleep(PAUSE)
        until = datetime.now(UTC)
        time.sleep(PAUSE)
        publish(operator, second)
        for name, value in (bus_env(operator) | roles.env(AUDITOR)).items():
            monkeypatch.setenv(name, value)
        target = f"sqlite:///{tmp_path / 'archive.db'}"
        code, out, err = run_command(capsys, "replay", "--until", until.isoformat(), "--database-url", target,
                                     "--no-progress")
        assert code == 0, out + err
        assert archive_of(target).sequence == last_first
        log = (tmp_path / "nats-server.log").read_text()
        assert "Permissions Violation" not in log, log[-3000:]
    finally:
        server.stop()


def test_an_archive_is_served_read_only_with_its_banner(bus: BusSettings, database_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    officer = bearer(person_token(bus, "arsip.petugas", (Role.DESK_OFFICER,)))
    upto = publish(bus, samples.sample_log(12))
    for name, value in bus_env(bus).items():
        monkeypatch.setenv(name, value)
    code, out, err = run_command(capsys, "replay", "--until", str(upto), "--database-url", database_url,
                                 "--no-progress")
    assert code == 0, out + err
    archived = all_rows(database_url)
    publish(bus, [e for n in range(12, 16) for e in samples.incident_story(n)])  # the log goes on
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = bus_env(bus) | {"DESK_PROJECTION_DATABASE_URL": database_url, "DESK_PROJECTION_PORT": str(port),
                          "DESK_PROJECTION_LIVE_INTERVAL_SECONDS": "0.05"}
    server = ServiceProcess("archive", service_command("desk_projection"), env, tmp_path / "archive.log").start()
    try:
        wait_for(lambda: _status(f"{base}/v1/me", officer) == 200 or not server.alive, 30, 0.1, "the archive to serve")
        assert server.alive, server.output()[-3000:]
        health = httpx.get(f"{base}/health").json()
        assert (health["status"], health["position"], health["lag"]) == ("ok", upto, 0), health

        me = httpx.get(f"{base}/v1/me", headers=officer).json()
        assert me["as_of"]["sequence"] == upto and "decide" in me["capabilities"], me
        label = me["as_of"]["label"]
        assert label.startswith("Arsip — keadaan per ") and label.endswith(f"(sampai urutan log {upto})"), label
        time.sleep(0.3)  # the live feed's watcher has looked a few times
        situation = httpx.get(f"{base}/v1/situation", headers=officer).json()
        assert situation["position"] == upto and situation["as_of"]["label"] == label

        listed = httpx.get(f"{base}/v1/incidents", params={"limit": 500}, headers=officer).json()
        assert listed["total"] == len(archived["incidents"]) == 12
        incident = listed["items"][0]["incident_id"]
        assert httpx.get(f"{base}/v1/incidents/{incident}", headers=officer).status_code == 200
        for page in ("/papan", "/papan/11.13", f"/insiden/{incident}", "/cari", "/antrean", "/grafik"):
            answer = httpx.get(base + page, headers=officer)
            assert answer.status_code == 200 and f'id="arsip">{label}</p>' in answer.text, page
        acted = httpx.post(f"{base}/v1/incidents/{incident}/actions/verify", json={}, headers=officer)
        assert acted.status_code == 409 and "Arsip hanya-baca" in acted.json()["detail"], acted.text
        if Path(CHROMIUM).exists():
            seen_in_chromium(base, officer["Authorization"].removeprefix("Bearer "), incident, label)
        assert server.stop(timeout=10) == 0, server.output()[-3000:]
    finally:
        server.kill()
    assert all_rows(database_url) == archived
    assert "Traceback" not in server.output(), server.output()[-3000:]
    reading = read_only_engine(database_url)  # what the archive is served through cannot write
    try:
        with pytest.raises(sa.exc.DBAPIError), reading.begin() as conn:
            conn.execute(as_of.delete())
    finally:
        reading.dispose()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def seen_in_chromium(base: str, token: str, incident: str, label: str) -> None:
    """In a real browser (Debian's Chromium): the banner on the board and an incident's page, and no
    officers' actions there (the archive's `/v1/me` says so)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID")
            context.add_cookies([{"name": "desk_session", "value": token, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/papan")
            assert page.locator("#arsip").is_visible() and page.locator("#arsip").inner_text() == label
            page.goto(f"{base}/insiden/{incident}")
            page.wait_for_load_state("networkidle")
            assert page.locator("#arsip").is_visible() and page.locator("#tindakan").is_hidden()
            artifacts = Path(os.environ.get("DESK_TEST_ARTIFACTS", "test-artifacts"))
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "arsip-insiden.png"), full_page=True)
        finally:
            browser.close()


def _status(url: str, headers: dict[str, str]) -> int:
    try:
        return httpx.get(url, headers=headers, timeout=2).status_code
    except httpx.HTTPError:
        return 0
