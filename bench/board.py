"""Benchmark: election night on the situation board: open boards receiving live updates while reports arrive.

    .venv/bin/python -m bench.board [--boards 100] [--rate 100] [--seconds 60] [--rounds 4] [--api-rate 20]
                                    [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The whole system as `./desk up` runs it: an embedded nats-server (fsync on every write), the five
services as their own processes (the projection on SQLite, or on a fresh database created on the
PostgreSQL server of `--database-url` and dropped afterwards; `REGION_REGENCIES=11.13`, Gayo Lues),
and a webhook receiver process as every liaison's webhook. One agency sends the labelled corpus's
Gayo Lues reports (each made distinct), `--rate` a second with Poisson arrivals for `--seconds`.

- Phase A (the baseline, same run): the reports, no board open.
- Phase B: the same with `--boards` boards open: as many Server-Sent Event streams
  (`/v1/live/situation`), each with its own browser session cookie; one board in four is a
  regency-wide leader's, the others camats' (leaders scoped to one kecamatan, spread over the eleven).
  They run in a process of their own, as browsers would, and note when each `situation` event
  arrives and the position (`id:`) it reflects.
Each phase's `--seconds` of load is cut into `--rounds` segments, run alternately (A B, B A, A B,
B A: the machine may be shared, and the read models grow; so noise and drift hit both phases
alike; the two segments of a round get the same arrival times), each segment waiting until
everything it sent is applied (and, in B, shown on every board).
The CPU other processes used meanwhile is measured (/proc/stat less this benchmark's processes)
and a phase where it was notable is flagged.
In both phases a prober requests `/papan`, `/v1/situation`, `/v1/incidents?limit=50` and
`/v1/incidents/{id}` in turn, `--api-rate` a second (open loop: each request at its own time,
however slow the others), as a leader's browser, and records each latency.

How the projection's lag is measured: an ordered consumer in this process follows the log's
`ReportTriaged` events (the report's incident decided by triage; its stream sequence and when it
was seen), and `/health` is polled every 50 ms for the projection's position (it applies the log
in order, so position >= that sequence means the report's incident is in the read models). A
report's lag is the time from its 202 at intake to the first `/health` answer covering its
`ReportTriaged` (so it includes triage, as a leader experiences it; split below into 202 ->
triaged and triaged -> applied); the polling adds 0-50 ms, the same in both phases. Throughput:
events applied per second from the phase's start until its last report was applied.
A board's update delay is the time from a report's 202 to the first situation event on that
board whose position covers its `ReportTriaged` (a leader's board: every report; a camat's: the
reports of his kecamatan).

Goals: page and API p99 < 200 ms per endpoint with the boards open (phase B); the live fan-out does
not slow the projection: lag p99 B <= 1.5 x A and throughput B >= 0.95 x A, every report applied."""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

from bench.common import UNTHROTTLED, corpus_texts, machine
from bench.intake import percentile, tree_cpu_seconds, wait_serving
from bench.notify import Receiver
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.processes import ServiceProcess, service_processes, stop_all
from desk_shared.runtime.settings import BusSettings

REGENCY = "11.13"
"""Kabupaten Gayo Lues, the demo's regency: its desk, its boards and its reports."""
SESSION_COOKIE = "desk_session"
PASSWORD = "kata-sandi-bench-papan"
HEALTH_INTERVAL = 0.05
LEADER_SHARE = 4  # one board in four is a regency-wide leader's
GOAL_P99_MS = 200.0
GOAL_LAG_RATIO = 1.5
GOAL_THROUGHPUT_RATIO = 0.95
DRAIN_SECONDS = 60.0
CATCH_UP_SECONDS = 10.0
MACHINE = "machine"
OTHERS_WARNING = 0.25
"""Cores used by processes not of this benchmark above which a phase is flagged as disturbed."""
ENDPOINTS = ("/papan", "/v1/situation", "/v1/incidents?limit=50", "/v1/incidents/{id}")


# ----------------------------------------------------------------------------- the desk's people
@dataclass(frozen=True)
class Board:
    """An open board: whose session, which kecamatan it shows (None: the whole regency)."""

    token: str
    kecamatan: str | None


def kecamatan_codes() -> list[str]:
    from desk_shared.contracts.regions import regions

    return [area.code for area in regions().kecamatan_in(frozenset({REGENCY}))]


async def desk_people(bus: BusSettings, boards: int) -> tuple[list[Board], str]:
    """A leader of the regency and a camat of each kecamatan (registered as an administrator
    would), a browser session of one of them per board, and a session for the prober (the leader's)."""
    from desk_access.operations import session
    from desk_access.people_admin import Desk, add_person
    from desk_shared.access.sessions import SessionKind, Sessions
    from desk_shared.contracts.agencies import Areas
    from desk_shared.contracts.envelope import Actor
    from desk_shared.contracts.people import PersonalDetails, Role

    codes = kecamatan_codes()
    async with session(bus) as js:
        desk = Desk(js, bus, Actor(kind="person", id="bench-admin"), "bench")
        people: dict[str | None, str] = {}
        for code in [None, *codes]:
            login = "bench.pimpinan" if code is None else f"bench.camat{code[-2:]}"
            areas = Areas(regencies=(REGENCY,)) if code is None else Areas(kecamatan=(code,))
            people[code] = await add_person(desk, login=login, details=PersonalDetails(name=login.title()),
                                            roles=(Role.LEADER,), areas=areas, password=PASSWORD)
        sessions = await Sessions.open(js, bus)
        hours = 6 * 3600
        found = []
        for n in range(boards):
            code = None if n % LEADER_SHARE == 0 else codes[(n - n // LEADER_SHARE - 1) % len(codes)]
            token, _ = await sessions.start(people[code], SessionKind.BROWSER, hours)
            found.append(Board(token, code))
        prober, _ = await sessions.start(people[None], SessionKind.BROWSER, hours)
    return found, prober


# ----------------------------------------------------------------------------- the system
@dataclass
class Election:
    """The services, their nats-server and a webhook receiver, as `./desk up` runs them."""

    home: Path
    database_url: str

    boards_wanted: int = 0

    def __enter__(self) -> Election:
        from desk_testing.agencies import agency_key

        self.processes: list[ServiceProcess] = []
        self.server = EmbeddedNats(self.home / "nats", free_port(), sync_always=True)
        self.server.start(log_file=self.home / "nats.log")
        self.receiver: Receiver | None = None
        try:
            self.receiver = Receiver(self.home)
            contacts = self.home / "contacts.toml"
            contacts.write_text(f'[[contact]]\nmatch = "*"\nwebhook = "{self.receiver.url("/alerts")}"\n')
            intake_port, projection_port = free_port(), free_port()
            env = {"DESK_NATS_URL": self.server.url, "DESK_LOG_LEVEL": "WARNING",
                   "DESK_INTAKE_PORT": str(intake_port), "DESK_INTAKE_AGENCY_RATE": UNTHROTTLED,
                   "DESK_PROJECTION_PORT": str(projection_port), "DESK_PROJECTION_DATABASE_URL": self.database_url,
                   "DESK_PROJECTION_REGION_REGENCIES": REGENCY,
                   "DESK_ACCESS_PORT": str(free_port()), "DESK_TRIAGE_PORT": str(free_port()),
                   "DESK_NOTIFY_PORT": str(free_port()), "DESK_NOTIFY_CONTACTS_FILE": str(contacts)}
            self.bus = BusSettings(nats_url=self.server.url)
            self.key = agency_key(self.bus)  # an agency that may report from anywhere
            self.boards, self.prober = asyncio.run(desk_people(self.bus, self.boards_wanted))
            self.processes = [p.start() for p in service_processes(env, self.home)]
            self.intake_url = f"http://127.0.0.1:{intake_port}"
            self.projection_url = f"http://127.0.0.1:{projection_port}"
            for name, url in (("intake", self.intake_url), ("projection", self.projection_url)):
                wait_serving(url, next(p for p in self.processes if p.name == name))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        stop_all(self.processes)
        if self.receiver:
            self.receiver.process.stop(5)
        self.server.stop()

    def process_ids(self) -> dict[str, int]:
        found = {p.name: p.process.pid for p in self.processes if p.process}
        assert self.server.process and self.receiver and self.receiver.process.process
        return found | {"nats-server": self.server.process.pid, "receiver": self.receiver.process.process.pid}


@contextlib.contextmanager
def projection_database(server_url: str | None, home: Path) -> Iterator[str]:
    """SQLite in `home`, or a fresh database on the PostgreSQL server of `server_url` (dropped afterwards)."""
    if server_url is None:
        yield f"sqlite:///{home / 'projection.db'}"
        return
    from bench.projection import postgres_database

    with postgres_database(server_url) as url:
        yield url


# ----------------------------------------------------------------------------- the reports
def report_bodies() -> list[dict]:
    """The corpus's reports from Gayo Lues (kecamatan, village, text), shuffled."""
    rows = [r for r in corpus_texts() if r["kecamatan"].startswith(REGENCY + ".")]
    random.Random(14).shuffle(rows)
    return [{"kecamatan": r["kecamatan"], "village": r.get("village"), "text": r["text"]} for r in rows]


@dataclass
class Sent:
    report_id: str
    kecamatan: str
    accepted_at: float  # monotonic, when the 202 arrived


@dataclass
class Load:
    sent: list[Sent] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    answer_ms: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


async def post_reports(client: aiohttp.ClientSession, url: str, key: str, bodies: list[dict], run: str,
                       rate: float, seconds: float, schedule: str) -> Load:
    """`rate` reports a second for `seconds`, Poisson arrivals (the same for the same `schedule`), each
    request at its own time; `run` makes their idempotency keys and texts distinct."""
    load = Load()
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=15)

    async def send(n: int) -> None:
        ref = f"{run}-{n}"
        body = dict(bodies[n % len(bodies)])
        body["text"] = f"{body['text']} (ref {ref})"
        began = time.monotonic()
        try:
            async with client.post(url + "/v1/reports", json=body, headers=auth | {"Idempotency-Key": ref},
                                   timeout=timeout) as answer:
                found = await answer.json(content_type=None)
                if answer.status == 202:
                    now = time.monotonic()
                    load.sent.append(Sent(found["report_id"], body["kecamatan"], now))
                    load.answer_ms.append((now - began) * 1000)
                else:
                    load.refused[str(answer.status)] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            load.refused[type(exc).__name__] += 1

    rng = random.Random(schedule)
    tasks = []
    load.started = due = time.monotonic()
    n = 0
    while due < load.started + seconds:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(send(n)))
        n += 1
        due += rng.expovariate(rate)
    load.ended = time.monotonic()
    await asyncio.gather(*tasks)
    return load


# ----------------------------------------------------------------------------- watching the log and the projection
class Watch:
    """The log's ReportTriaged events (report id -> (stream sequence, when seen)) and the projection's
    position as /health tells it ((when answered, position)), for the whole run."""

    def __init__(self) -> None:
        self.triaged: dict[str, tuple[int, float]] = {}
        self.samples: list[tuple[float, int]] = []
        self.positions: list[int] = []
        self.health_failures = 0

    async def follow_log(self, bus: BusSettings, stop: asyncio.Event) -> None:
        from nats.js.api import DeliverPolicy

        from desk_shared.contracts.reports import ReportTriaged
        from desk_shared.runtime.bus import connect

        async def seen(msg: object) -> None:
            now = time.monotonic()
            report_id = json.loads(msg.data)["payload"]["report_id"]  # type: ignore[attr-defined]
            self.triaged.setdefault(report_id, (msg.metadata.sequence.stream, now))  # type: ignore[attr-defined]

        nc = await connect(bus, "bench-board-watch")
        try:
            sub = await nc.jetstream().subscribe(ReportTriaged.subject_filter, stream=bus.stream_name,
                                                 ordered_consumer=True, deliver_policy=DeliverPolicy.NEW, cb=seen)
            await stop.wait()
            await sub.unsubscribe()
        finally:
            await nc.close()

    async def poll_health(self, client: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> None:
        due = time.monotonic()
        while not stop.is_set():
            try:
                async with client.get(url + "/health", timeout=aiohttp.ClientTimeout(total=5)) as answer:
                    position = (await answer.json()).get("position")
                now = time.monotonic()
                if isinstance(position, int) and position >= (self.positions[-1] if self.positions else 0):
                    self.samples.append((now, position))
                    self.positions.append(position)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                self.health_failures += 1
            due += HEALTH_INTERVAL
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    def applied_at(self, seq: int) -> tuple[float, int] | None:
        """When /health first said the projection's position covers `seq`, and that position."""
        at = bisect.bisect_left(self.positions, seq)
        return self.samples[at] if at < len(self.samples) else None

    def position_at(self, when: float) -> int:
        at = bisect.bisect_right(self.samples, (when, float("inf"))) - 1
        return self.samples[at][1] if at >= 0 else 0

    async def drained(self, sent: list[Sent], within: float) -> float | None:
        """Wait until every accepted report is triaged and applied; when the last was (None: not within)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            seqs = [self.triaged[s.report_id][0] for s in sent if s.report_id in self.triaged]
            if len(seqs) == len(sent) and (done := self.applied_at(max(seqs, default=0))):
                return done[0]
            await asyncio.sleep(0.1)
        return None


# ----------------------------------------------------------------------------- the prober (a leader's browser)
async def probe(client: aiohttp.ClientSession, url: str, token: str, rate: float, stop: asyncio.Event,
                seed: str) -> dict[str, list[float]]:
    """Latencies (ms) per endpoint, requested in turn `rate` times a second until `stop`; a non-200
    answer is recorded as infinitely slow."""
    found: dict[str, list[float]] = {e: [] for e in ENDPOINTS}
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    incidents: list[str] = []
    rng = random.Random(seed)
    timeout = aiohttp.ClientTimeout(total=30)

    async def get(endpoint: str) -> None:
        path = endpoint
        if "{id}" in endpoint:
            if not incidents:
                return
            path = endpoint.replace("{id}", rng.choice(incidents))
        began = time.monotonic()
        try:
            async with client.get(url + path, headers=cookie, timeout=timeout) as answer:
                body = await answer.read()
                took = (time.monotonic() - began) * 1000
                ok = answer.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok, body, took = False, b"", 0.0
        found[endpoint].append(took if ok else float("inf"))
        if ok and endpoint.startswith("/v1/incidents?"):
            incidents[:] = [item["incident_id"] for item in json.loads(body)["items"]]

    tasks = []
    due, n = time.monotonic(), 0
    while not stop.is_set():
        tasks.append(asyncio.create_task(get(ENDPOINTS[n % len(ENDPOINTS)])))
        n += 1
        due += rng.expovariate(rate)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))
    await asyncio.gather(*tasks)
    return found


# ----------------------------------------------------------------------------- the boards (their own process)
def boards_process(url: str, tokens: list[str], conn: Connection) -> None:
    """The boards, as their browsers would be: on 'open' a live feed per token, 'ready' once each has
    its first situation; on ('close', position) they close once each shows `position` (or after
    CATCH_UP_SECONDS) and every board's (arrival, position) list, their failures and this process's
    CPU seconds while they were open are sent back; 'quit' ends it."""
    asyncio.run(_boards(url, tokens, conn))


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _boards(url: str, tokens: list[str], conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as client:
        while await loop.run_in_executor(None, conn.recv) == "open":
            await _open_boards(client, url, tokens, conn)


async def _open_boards(client: aiohttp.ClientSession, url: str, tokens: list[str], conn: Connection) -> None:
    events: list[list[tuple[float, int]]] = [[] for _ in tokens]
    first: list[asyncio.Event] = [asyncio.Event() for _ in tokens]
    failures: Counter[str] = Counter()
    opened_at: list[float] = [0.0 for _ in tokens]
    target = [2**62]  # the position every board must show before they close
    reached: set[int] = set()
    caught_up = asyncio.Event()

    def seen(n: int, now: float, position: int) -> None:
        events[n].append((now, position))
        first[n].set()
        if position >= target[0]:
            reached.add(n)
            if len(reached) == len(tokens):
                caught_up.set()

    async def follow(n: int) -> None:
        """As a browser's EventSource: read the stream; reconnect a second after it ends."""
        headers = {"Cookie": f"{SESSION_COOKIE}={tokens[n]}", "Accept": "text/event-stream"}
        while True:
            opened_at[n] = opened_at[n] or time.monotonic()
            try:
                async with client.get(url + "/v1/live/situation", headers=headers) as answer:
                    if answer.status != 200:
                        failures[f"HTTP {answer.status}"] += 1
                    else:
                        buffer = b""
                        async for chunk in answer.content.iter_any():
                            now = time.monotonic()
                            buffer += chunk
                            while (end := buffer.find(b"\n\n")) >= 0:
                                block, buffer = buffer[:end], buffer[end + 2:]
                                if block.startswith(b"event: situation"):
                                    start = block.index(b"\nid: ") + 5
                                    seen(n, now, int(block[start:block.index(b"\n", start)]))
                        failures["stream ended"] += 1
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                failures[type(exc).__name__] += 1
            await asyncio.sleep(1.0)

    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(follow(n)) for n in range(len(tokens))]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(f.wait() for f in first)), 60)
    opened = [events[n][0][0] - opened_at[n] for n in range(len(tokens)) if events[n]]
    cpu_ready = _cpu()
    conn.send(("ready", len(opened), opened))
    _, target[0] = await loop.run_in_executor(None, conn.recv)
    for n, found in enumerate(events):
        if found and found[-1][1] >= target[0]:
            reached.add(n)
    if len(reached) == len(tokens):
        caught_up.set()
    with contextlib.suppress(TimeoutError):  # the live feed looks a few times a second: let it show the target
        await asyncio.wait_for(caught_up.wait(), CATCH_UP_SECONDS)
    cpu = _cpu() - cpu_ready
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("closed", events, dict(failures), cpu))


class BoardsProcess:
    """The boards' process, seen from here."""

    def __init__(self, url: str, boards: list[Board]) -> None:
        self.boards = boards
        spawn = multiprocessing.get_context("spawn")
        self._conn, child = spawn.Pipe()
        self._process = spawn.Process(target=boards_process, args=(url, [b.token for b in boards], child),
                                      name="bench-boards", daemon=True)
        self._process.start()

    async def _recv(self) -> tuple:
        return await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)

    async def open(self) -> tuple[int, list[float]]:
        """Open every board; how many got their first situation, and how long each took (s)."""
        self._conn.send("open")
        _, count, opened = await self._recv()
        return count, opened

    async def close(self, last: int) -> tuple[list[list[tuple[float, int]]], dict[str, int], float]:
        """Once every board shows position `last` (or CATCH_UP_SECONDS passed): what they saw."""
        self._conn.send(("close", last))
        _, events, failures, cpu = await self._recv()
        return events, failures, cpu

    def quit(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("quit")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


# ----------------------------------------------------------------------------- one segment of a phase
@dataclass
class BoardFigures:
    open: int
    wanted: int
    opened_s: list[float]
    events_per_board: list[int]
    delay_ms: list[float]
    not_shown: int  # (board, report) pairs never covered by a situation event
    behind: int  # boards whose last event did not cover the segment's last report (summed over segments)
    failures: Counter[str]


@dataclass
class Segment:
    load: Load
    latencies: dict[str, list[float]]
    lag_ms: list[float]  # 202 -> applied, per report (inf: never applied)
    triage_ms: list[float]  # 202 -> ReportTriaged seen
    apply_ms: list[float]  # ReportTriaged seen -> applied
    events_applied: int
    reports_applied: int
    span: float  # seconds from the load's start to its last report applied
    drained_after: float | None  # seconds from the load's end to its last report applied (None: not within)
    cpu: dict[str, float]  # CPU seconds per process, over `wall`
    wall: float
    boards: BoardFigures | None = None

    @property
    def others(self) -> float:
        """Cores that processes not of this benchmark used meanwhile."""
        ours = sum(v for k, v in self.cpu.items() if k != MACHINE)
        return max(0.0, self.cpu[MACHINE] - ours) / self.wall


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine (ours and others') used, from /proc/stat: user, nice and
    system time (not interrupts, which are not counted to processes either)."""
    with open("/proc/stat") as stat:
        user, nice, system = (int(x) for x in stat.readline().split()[1:4])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    found = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    return found | {"client": _cpu(), MACHINE: machine_busy_seconds()}


async def run_segment(election: Election, watch: Watch, http: aiohttp.ClientSession, bodies: list[dict],
                      args: argparse.Namespace, seconds: float, schedule: str, boards: BoardsProcess | None
                      ) -> Segment:
    pids = election.process_ids()
    opened: tuple[int, list[float]] | None = await boards.open() if boards else None
    run = f"{'b' if boards else 'a'}-{uuid.uuid4().hex[:6]}"
    before, wall = cpu_seconds(pids), time.monotonic()
    stop_probe = asyncio.Event()
    probing = asyncio.create_task(probe(http, election.projection_url, election.prober, args.api_rate, stop_probe,
                                        schedule))
    load = await post_reports(http, election.intake_url, election.key, bodies, run, args.rate, seconds, schedule)
    stop_probe.set()
    latencies = await probing
    done = await watch.drained(load.sent, DRAIN_SECONDS)
    lag, triage, apply = [], [], []
    for s in load.sent:
        triaged = watch.triaged.get(s.report_id)
        applied = watch.applied_at(triaged[0]) if triaged else None
        lag.append((applied[0] - s.accepted_at) * 1000 if applied else float("inf"))
        if triaged:
            triage.append((triaged[1] - s.accepted_at) * 1000)
        if triaged and applied:
            apply.append((applied[0] - triaged[1]) * 1000)
    end = done or time.monotonic()
    segment = Segment(load, latencies, lag, triage, apply,
                      watch.position_at(end) - watch.position_at(load.started),
                      sum(1 for x in lag if x != float("inf")), end - load.started,
                      done - load.ended if done else None, {}, 0.0)
    if boards is not None and opened is not None:
        last = max((watch.triaged[s.report_id][0] for s in load.sent if s.report_id in watch.triaged), default=0)
        events, failures, boards_cpu = await boards.close(last)
        segment.boards = board_figures(boards.boards, events, failures, load, watch)
        segment.boards.open, segment.boards.opened_s = opened
    after = time.monotonic()
    segment.cpu = {k: v - before[k] for k, v in cpu_seconds(pids).items()}
    segment.wall = after - wall
    if boards is not None:
        segment.cpu["boards"] = boards_cpu
    return segment


def board_figures(boards: list[Board], events: list[list[tuple[float, int]]], failures: dict[str, int], load: Load,
                  watch: Watch) -> BoardFigures:
    reports = [(s, watch.triaged[s.report_id][0]) for s in load.sent if s.report_id in watch.triaged]
    last = max((seq for _, seq in reports), default=0)
    delays: list[float] = []
    not_shown = behind = 0
    counts = []
    for board, seen in zip(boards, events, strict=True):
        counts.append(sum(1 for at, _ in seen if load.started <= at <= load.ended))
        positions = [p for _, p in seen]
        if not positions or positions[-1] < last:
            behind += 1
        for sent, seq in reports:
            if board.kecamatan is not None and sent.kecamatan != board.kecamatan:
                continue
            at = bisect.bisect_left(positions, seq)
            if at < len(seen):
                delays.append((seen[at][0] - sent.accepted_at) * 1000)
            else:
                not_shown += 1
    return BoardFigures(0, len(boards), [], counts, delays, not_shown, behind, Counter(failures))


# ----------------------------------------------------------------------------- a phase: its segments together
@dataclass
class Phase:
    name: str
    segments: list[Segment] = field(default_factory=list)

    def _all(self, name: str) -> list[float]:
        return [x for s in self.segments for x in getattr(s, name)]

    @property
    def sent(self) -> int:
        return sum(len(s.load.sent) for s in self.segments)

    @property
    def load_seconds(self) -> float:
        return sum(s.load.ended - s.load.started for s in self.segments)

    @property
    def refused(self) -> Counter[str]:
        return sum((s.load.refused for s in self.segments), Counter())

    @property
    def answer_ms(self) -> list[float]:
        return [x for s in self.segments for x in s.load.answer_ms]

    @property
    def latencies(self) -> dict[str, list[float]]:
        return {e: [x for s in self.segments for x in s.latencies[e]] for e in ENDPOINTS}

    @property
    def lag_ms(self) -> list[float]:
        return self._all("lag_ms")

    @property
    def triage_ms(self) -> list[float]:
        return self._all("triage_ms")

    @property
    def apply_ms(self) -> list[float]:
        return self._all("apply_ms")

    @property
    def events_per_s(self) -> float:
        return sum(s.events_applied for s in self.segments) / sum(s.span for s in self.segments)

    @property
    def reports_per_s(self) -> float:
        return sum(s.reports_applied for s in self.segments) / sum(s.span for s in self.segments)

    @property
    def drained_after(self) -> float | None:
        found = [s.drained_after for s in self.segments]
        return None if None in found else max(x for x in found if x is not None)

    @property
    def cores(self) -> dict[str, float]:
        wall = sum(s.wall for s in self.segments)
        names = list(dict.fromkeys(k for s in self.segments for k in s.cpu))
        found = {k: sum(s.cpu.get(k, 0.0) for s in self.segments) / wall for k in names}
        found["others"] = max(0.0, found[MACHINE] - sum(v for k, v in found.items() if k != MACHINE))
        return found

    @property
    def boards(self) -> BoardFigures | None:
        found = [s.boards for s in self.segments if s.boards]
        if not found:
            return None
        return BoardFigures(min(b.open for b in found), found[0].wanted, [x for b in found for x in b.opened_s],
                            [sum(counts) for counts in zip(*(b.events_per_board for b in found), strict=True)],
                            [x for b in found for x in b.delay_ms], sum(b.not_shown for b in found),
                            sum(b.behind for b in found), sum((b.failures for b in found), Counter()))


# ----------------------------------------------------------------------------- the report
def ms(values: list[float], fraction: float) -> str:
    if not values:
        return "-"
    found = percentile(values, fraction)
    return "never" if found == float("inf") else f"{found:,.0f}"


def spread(values: list[float]) -> str:
    return f"p50 {ms(values, 0.5)} / p95 {ms(values, 0.95)} / p99 {ms(values, 0.99)} / max {ms(values, 1.0)} ms"


def ratio(b: float, a: float) -> float:
    return b / a if a else float("nan")


def print_phase(phase: Phase, args: argparse.Namespace) -> None:
    refused = phase.refused
    not_accepted = f" ({sum(refused.values())} not accepted: {dict(refused)})" if refused else ""
    drained = phase.drained_after
    drained_text = f"{drained:.2f} s" if drained is not None else f"NOT within {DRAIN_SECONDS:.0f} s"
    seconds = phase.load_seconds
    print(f"\n{phase.name} ({len(phase.segments)} segments, {seconds:.0f} s of load in all)")
    print(f"  reports accepted: {phase.sent:,} ({phase.sent / seconds:.1f}/s, offered ~{args.rate:g}/s){not_accepted}; "
          f"intake 202 p50 {ms(phase.answer_ms, 0.5)} ms p99 {ms(phase.answer_ms, 0.99)} ms")
    print(f"  page and API (a leader's browser, ~{args.api_rate:g} requests/s in turn, while the reports arrive):")
    for endpoint, found in phase.latencies.items():
        failed = sum(1 for x in found if x == float("inf"))
        print(f"    {endpoint:<24} n {len(found):>5}  {spread(found)}" + (f"  ({failed} failed)" if failed else ""))
    b = phase.boards
    if b:
        opened = [x * 1000 for x in b.opened_s]
        print(f"  boards: {b.open} of {b.wanted} open (fewest in a segment); first situation after connecting p50 "
              f"{ms(opened, 0.5)} ms, max {ms(opened, 1.0)} ms; stream failures/reconnects: "
              f"{dict(b.failures) or 'none'}")
        per = b.events_per_board
        if per:
            print(f"  situation events received per board while the reports arrived: min {min(per)}, median "
                  f"{statistics.median(per):.0f}, max {max(per)} (one board: {statistics.median(per) / seconds:.1f}/s; "
                  f"all boards: {sum(per) / seconds:,.0f}/s)")
        print(f"  board update delay (202 -> first situation event covering the report's triage; "
              f"{len(b.delay_ms):,} board-report pairs): {spread(b.delay_ms)}; never shown {b.not_shown}, "
              f"boards behind the last report at a segment's end {b.behind}")
    lost = sum(1 for x in phase.lag_ms if x == float("inf"))
    print(f"  projection lag (202 -> /health position covers ReportTriaged): {spread(phase.lag_ms)}"
          + (f"; {lost} never applied" if lost else ""))
    print(f"    of which 202 -> triaged (seen in the log): {spread(phase.triage_ms)}")
    print(f"    and triaged -> applied: {spread(phase.apply_ms)}")
    print(f"  projection throughput: {phase.events_per_s:,.0f} events/s applied ({phase.reports_per_s:.1f} reports/s), "
          f"a segment's last report applied at most {drained_text} after its load ended")
    cores = phase.cores
    print("  cores used (load start to last report applied): "
          + " ".join(f"{k} {v:.2f}" for k, v in cores.items() if k not in (MACHINE, "others"))
          + f"; the whole machine {cores[MACHINE]:.2f} of {os.cpu_count()}, of which other processes "
            f"{cores['others']:.2f}")
    if cores["others"] > OTHERS_WARNING:
        print(f"  WARNING: other processes used {cores['others']:.2f} cores during this phase: the machine was shared, "
              "the figures are disturbed")


def goals(a: Phase, b: Phase, args: argparse.Namespace, indent: str = "  ") -> bool:
    """Print each goal with its figures and verdict; whether all were met."""
    p99s = {e: percentile(x, 0.99) if x else float("inf") for e, x in b.latencies.items()}
    api_ok = all(v < GOAL_P99_MS for v in p99s.values())
    lag_a, lag_b = percentile(a.lag_ms, 0.99), percentile(b.lag_ms, 0.99)
    lag_ratio = ratio(lag_b, lag_a)
    throughput_ratio = ratio(b.events_per_s, a.events_per_s)
    every = all(x != float("inf") for x in a.lag_ms + b.lag_ms) and a.drained_after is not None \
        and b.drained_after is not None
    not_slowed = lag_ratio <= GOAL_LAG_RATIO and throughput_ratio >= GOAL_THROUGHPUT_RATIO and every
    boards = b.boards
    boards_ok = boards is not None and boards.open == boards.wanted and boards.behind == 0
    print(f"{indent}page and API p99 < {GOAL_P99_MS:.0f} ms with the boards open: "
          + ", ".join(f"{e} {'never' if v == float('inf') else f'{v:,.0f} ms'}" for e, v in p99s.items())
          + f" -> {'PASS' if api_ok else 'FAIL'}")
    print(f"{indent}live fan-out does not slow the projection (lag p99 B/A <= {GOAL_LAG_RATIO}, throughput B/A >= "
          f"{GOAL_THROUGHPUT_RATIO}, every report applied): {lag_ratio:.2f}x ({lag_a:,.0f} -> {lag_b:,.0f} ms), "
          f"{throughput_ratio:.3f}x{'' if every else ', NOT every report applied'} -> "
          f"{'PASS' if not_slowed else 'FAIL'}")
    print(f"{indent}every board open and up to date at each segment's end: "
          f"{boards.open if boards else 0} of {args.boards} open, {boards.behind if boards else '-'} behind -> "
          f"{'PASS' if boards_ok else 'FAIL'}")
    return api_ok and not_slowed and boards_ok


def print_goals(a: Phase, b: Phase, args: argparse.Namespace) -> str:
    """The comparison and the goals, over every round and, when other processes disturbed some
    rounds, over the quiet ones alone; the verdict line."""
    full = args.boards >= 100 and args.rate >= 100 and args.seconds >= 60
    print(f"\nB/A: projection lag p50 {ratio(percentile(b.lag_ms, 0.5), percentile(a.lag_ms, 0.5)):.2f}x, "
          f"p99 {ratio(percentile(b.lag_ms, 0.99), percentile(a.lag_ms, 0.99)):.2f}x; 202 -> triaged p99 "
          f"{ratio(percentile(b.triage_ms, 0.99), percentile(a.triage_ms, 0.99)):.2f}x; triaged -> applied p99 "
          f"{ratio(percentile(b.apply_ms, 0.99), percentile(a.apply_ms, 0.99)):.2f}x; throughput "
          f"{ratio(b.events_per_s, a.events_per_s):.3f}x ({a.events_per_s:,.0f} -> {b.events_per_s:,.0f} events/s); "
          f"projection cores {ratio(b.cores.get('projection', 0), a.cores.get('projection', 0)):.2f}x")
    print(f"\ngoals ({args.boards} boards, {args.rate:g} reports/s, {args.seconds:g} s per phase"
          + ("" if full else "; SHORTER THAN THE ISSUE'S 100 boards, 100/s, 60 s") + "), every round:")
    met = goals(a, b, args)
    quiet = [n for n, (x, y) in enumerate(zip(a.segments, b.segments, strict=True))
             if x.others <= OTHERS_WARNING and y.others <= OTHERS_WARNING]
    verdict = f"{'PASS' if met else 'FAIL'}"
    if len(quiet) == len(a.segments):
        return verdict
    if not quiet:
        print(f"  NOTE: other processes used more than {OTHERS_WARNING} cores in every round: these verdicts are "
              "not trustworthy; run again on a quiet machine")
        return verdict + " (every round disturbed by other processes: not trustworthy)"
    print(f"over the quiet rounds only ({', '.join(str(n + 1) for n in quiet)}: other processes <= {OTHERS_WARNING} "
          f"cores in both of their segments):")
    quiet_met = goals(Phase(a.name, [a.segments[n] for n in quiet]), Phase(b.name, [b.segments[n] for n in quiet]),
                      args)
    return f"{verdict} over every round; {'PASS' if quiet_met else 'FAIL'} over the {len(quiet)} quiet round(s)"


# ----------------------------------------------------------------------------- the run
async def run(election: Election, args: argparse.Namespace) -> tuple[Phase, Phase]:
    bodies = report_bodies()
    watch = Watch()
    stop = asyncio.Event()
    a, b = Phase("phase A: no board open"), Phase(f"phase B: {args.boards} boards open")
    seconds = args.seconds / args.rounds
    boards = BoardsProcess(election.projection_url, election.boards)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=128)) as http:
        following = asyncio.create_task(watch.follow_log(election.bus, stop))
        polling = asyncio.create_task(watch.poll_health(http, election.projection_url, stop))
        try:
            await ready(http, election)
            warm = await post_reports(http, election.intake_url, election.key, bodies, f"warm-{uuid.uuid4().hex[:6]}",
                                      args.rate, args.warm_up, "warm-up")
            await watch.drained(warm.sent, DRAIN_SECONDS)
            print(f"warm-up: {len(warm.sent)} reports at ~{args.rate:g}/s, applied", flush=True)
            for round_no in range(args.rounds):
                order = (a, b) if round_no % 2 == 0 else (b, a)  # A B, B A, A B, ...: drift hits both alike
                for phase in order:
                    segment = await run_segment(election, watch, http, bodies, args, seconds, f"round {round_no}",
                                                boards if phase is b else None)
                    phase.segments.append(segment)
                    print(f"round {round_no + 1}, {phase.name.split(':')[0]}: {len(segment.load.sent)} reports, lag "
                          f"p99 {ms(segment.lag_ms, 0.99)} ms, /v1/situation p99 "
                          f"{ms(segment.latencies['/v1/situation'], 0.99)} ms; other processes used "
                          f"{segment.others:.2f} cores", flush=True)
        finally:
            stop.set()
            await asyncio.gather(following, polling, return_exceptions=True)
            boards.quit()
        if watch.health_failures:
            print(f"(/health polls that failed: {watch.health_failures})")
    return a, b


async def ready(http: aiohttp.ClientSession, election: Election, within: float = 60.0) -> None:
    """Until the projection knows the desk's people (it answers 503 to people before)."""
    deadline = time.monotonic() + within
    cookie = {"Cookie": f"{SESSION_COOKIE}={election.prober}"}
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(election.projection_url + "/v1/situation", headers=cookie) as answer:
                if answer.status == 200:
                    return
        if time.monotonic() > deadline:
            raise RuntimeError("the projection did not answer a leader within a minute")
        await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=100, help="boards open in phase B (default 100)")
    parser.add_argument("--rate", type=float, default=100.0, help="reports/s in each phase (default 100)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load in each phase (default 60)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="each phase's load in this many segments, alternating A B, B A, ... (default 4)")
    parser.add_argument("--api-rate", type=float, default=20.0, help="page and API requests/s (default 20)")
    parser.add_argument("--warm-up", type=float, default=5.0, help="seconds of reports before the phases (default 5)")
    parser.add_argument("--database-url", help="a PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:"
                                               "5432/test) on which a fresh database is made for the projection "
                                               "(dropped afterwards); default SQLite")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    database = "PostgreSQL" if args.database_url else "SQLite"
    leaders = len(range(0, args.boards, LEADER_SHARE))
    print(f"system: nats-server with fsync on every write, five services as processes, projection on {database}; "
          f"{args.rate:g} reports/s (Poisson) for {args.seconds:g} s per phase in {args.rounds} segments of "
          f"{args.seconds / args.rounds:g} s; boards in phase B: {args.boards} ({leaders} regency-wide leaders', "
          f"{args.boards - leaders} camats' over {len(kecamatan_codes())} kecamatan), each its own session, in a "
          f"process of their own", flush=True)
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp, \
            projection_database(args.database_url, Path(tmp)) as url:
        election = Election(Path(tmp), url)
        election.boards_wanted = args.boards
        with election:
            a, b = asyncio.run(run(election, args))
            for phase in (a, b):
                print_phase(phase, args)
    print(f"\nmachine: {machine()}; load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{print_goals(a, b, args)}")


if __name__ == "__main__":
    main()
