"""What the service benchmarks share: the machine's description, an embedded nats-server with
fsync on every write (as `./desk up` runs it), a service as its own process, a consumer's progress,
and corpus-like reports to feed the system."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.contracts.events import Actor, ReportSubmitted, ReportSubmittedPayload, utc_now
from desk_shared.runtime.settings import BusSettings

CORPUS = Path(__file__).resolve().parents[1] / "services" / "triage" / "corpus"
UNTHROTTLED = "1000000"
"""DESK_INTAKE_AGENCY_RATE for the benchmarks: one agency sends everything, as fast as intake takes it."""


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                     platform.processor() or "unknown cpu")
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


@contextlib.contextmanager
def embedded_nats(sync_always: bool = True) -> Iterator[BusSettings]:
    """A fresh nats-server with JetStream on disk, fsync on every write; bus settings pointing at it."""
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as home:
        server = EmbeddedNats(Path(home) / "nats", free_port(), sync_always=sync_always)
        server.start(log_file=Path(home) / "nats.log")
        try:
            yield BusSettings(nats_url=server.url)
        finally:
            server.stop()


def service(name: str, module: str, bus: BusSettings, log_dir: Path, **env: str) -> ServiceProcess:
    """A service as its own process, on `bus`, logging to a file (warnings only: no per-event lines)."""
    return ServiceProcess(name, service_command(module), {"DESK_NATS_URL": bus.nats_url, "DESK_LOG_LEVEL": "WARNING",
                                                          **env}, log_dir / f"{name}.log")


def corpus_texts() -> list[dict]:
    """The labelled corpus's reports (text, kecamatan, village), as agencies would send them."""
    rows = []
    for part in ("dev.jsonl", "test.jsonl"):
        with open(CORPUS / part, encoding="utf-8") as lines:
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def submitted_reports(n: int, seed: int = 14) -> list[ReportSubmitted]:
    """`n` ReportSubmitted events with corpus texts (about a third of them urgent), distinct ids."""
    rows = corpus_texts()
    rng = random.Random(seed)
    now = utc_now()
    events = []
    for _ in range(n):
        row = rng.choice(rows)
        report_id = uuid.uuid4()
        events.append(ReportSubmitted(
            event_id=report_id, occurred_at=now, recorded_at=now, correlation_id=report_id, producer="bench",
            actor=Actor.agency("bench"), payload=ReportSubmittedPayload(
                report_id=report_id, agency="bench", channel="http", kecamatan_code=row["kecamatan"],
                village_code=row.get("village"), text=row["text"])))
    return events


@dataclass
class Progress:
    first_at: float | None = None
    done_at: float | None = None


async def consumer_done(js: JetStreamContext, stream: str, consumer: str, last_seq: int,
                        within: float = 600.0, poll: float = 0.05) -> Progress:
    """Wait until the durable `consumer` has finished everything up to `last_seq`; the times its
    first delivery and its last acknowledgement were seen (polled every `poll` seconds)."""
    progress = Progress()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(NotFoundError):
            info = await js.consumer_info(stream, consumer)
            if progress.first_at is None and info.delivered.stream_seq > 0:
                progress.first_at = time.perf_counter()
            if info.ack_floor.stream_seq >= last_seq or (info.num_pending == 0 and info.num_ack_pending == 0
                                                         and info.delivered.stream_seq >= last_seq):
                progress.done_at = time.perf_counter()
                return progress
        await asyncio.sleep(poll)
    raise TimeoutError(f"consumer {consumer} did not finish within {within} s")


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verdict(met: bool) -> str:
    return "goal met" if met else "GOAL NOT MET"
