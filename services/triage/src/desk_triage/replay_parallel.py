"""A replay shared by worker processes, one set of kecamatan each.

Every decision triage takes is about one kecamatan and decided against that kecamatan's events
alone (its incidents, its level, its checks), so the log splits by kecamatan without changing any
decision: each worker replays, in log order, the messages of its kecamatan. The reader routes
them: keyed events by their subject (`desk.event.<type>.<kecamatan>.<key>`), reports by their
payload's kecamatan, 'cek segera' answers by their incident's kecamatan."""

from __future__ import annotations

import multiprocessing
import re
import traceback
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from desk_shared.contracts.reports import ReportSubmitted, ReportTriaged
from desk_triage.replay import READ, Replay, Tally, WrongVersions, decoded
from desk_triage.replay_compare import Difference

Message = tuple[int, str, bytes]
"""seq, subject, data"""
_KECAMATAN = re.compile(rb'"kecamatan_code"\s*:\s*"(\d{2}\.\d{2}\.\d{2})"')
_INCIDENT = re.compile(rb'"incident_id"\s*:\s*"([0-9a-f-]{36})"')
_REPORTS = (ReportSubmitted.subject, ReportTriaged.subject)
_ANSWERS = "desk.event.incident.urgency_"
BATCH = 2000


class Router:
    """Which kecamatan a message is about (None: no decision of triage's reads it; "" one triage reads about
    no kecamatan it can tell: the first worker says what is wrong with it)."""

    def __init__(self) -> None:
        self._incidents: dict[bytes, str] = {}

    def kecamatan(self, subject: str, data: bytes) -> str | None:
        parts = subject.split(".")
        if len(parts) == 8:  # keyed: desk.event.<noun>.<verb>.<kk>.<rr>.<dd>.<key>
            code = ".".join(parts[4:7])
            if parts[2] == "incident":
                self._incidents.setdefault(parts[7].encode(), code)
            return code
        if subject in _REPORTS or subject.startswith(_ANSWERS):
            found = _KECAMATAN.search(data)
            if found:
                return found.group(1).decode()
            incident = _INCIDENT.search(data)
            return self._incidents.get(incident.group(1), "") if incident else ""
        return "" if subject.startswith(READ) else None


def _work(make: Callable[[], Replay], inbox: Connection, outbox: Connection) -> None:
    """A worker: replay what arrives until None, then send back (differences, tally), or what stopped it
    (read to the end all the same, so the reader is never left writing to a closed pipe)."""
    replay = make()
    failure: tuple[str, str] | None = None
    while (batch := inbox.recv()) is not None:
        if failure is None:
            failure = _replayed(replay, batch)
    if failure is None:
        failure = _replayed(replay, [], end=True)
    outbox.send((*failure, None) if failure else ("done", replay.found, replay.tally))


def _replayed(replay: Replay, batch: list[Message], end: bool = False) -> tuple[str, str] | None:
    """Replay `batch` (and finish, at the `end`); why it stopped, if it did."""
    try:
        for seq, subject, data in batch:
            replay.feed(seq, decoded(seq, subject, data), data)
        if end:
            replay.finish()
    except WrongVersions as exc:
        return "versions", str(exc)
    except RuntimeError as exc:  # ReplayFailed: a message that is not an event
        return "error", str(exc)
    except Exception as exc:
        return "error", f"{exc!r}\n{traceback.format_exc()}"
    return None


class Workers:
    """`jobs` worker processes (forked: each starts with the rules and model already loaded)."""

    def __init__(self, make: Callable[[], Replay], jobs: int) -> None:
        context = multiprocessing.get_context("fork")
        self._router = Router()
        self._worker_of: dict[str, int] = {}
        self._pending: list[list[Message]] = [[] for _ in range(jobs)]
        self._inboxes: list[Connection] = []
        self._outboxes: list[Connection] = []
        self._processes: list[BaseProcess] = []
        for _ in range(jobs):
            receive, send = context.Pipe(duplex=False)
            result_receive, result_send = context.Pipe(duplex=False)
            process = context.Process(target=_work, args=(make, receive, result_send), daemon=True)
            process.start()
            self._inboxes.append(send)
            self._outboxes.append(result_receive)
            self._processes.append(process)
        self.messages = 0
        self.last_seq = 0

    def feed(self, messages: Iterable[Message]) -> None:
        for seq, subject, data in messages:
            self.messages += 1
            self.last_seq = seq
            code = self._router.kecamatan(subject, data)
            if code is None:
                continue
            worker = self._worker_of.setdefault(code, len(self._worker_of) % len(self._pending)) if code else 0
            pending = self._pending[worker]
            pending.append((seq, subject, data))
            if len(pending) >= BATCH:
                self._inboxes[worker].send(pending)
                self._pending[worker] = []

    def finish(self) -> tuple[list[Difference], Tally]:
        """Every worker's differences (in log order) and the tallies summed; WrongVersions or RuntimeError."""
        for worker, inbox in enumerate(self._inboxes):
            if self._pending[worker]:
                inbox.send(self._pending[worker])
            inbox.send(None)
        try:
            results: list[tuple[str, Any, Tally | None]] = [outbox.recv() for outbox in self._outboxes]
        except EOFError:
            raise RuntimeError("a replay worker stopped without its result (killed?)") from None
        for process in self._processes:
            process.join(10)
        for status, detail, _ in results:
            if status == "versions":
                raise WrongVersions(detail)
            if status == "error":
                raise RuntimeError(f"a replay worker failed: {detail}")
        found = sorted((d for _, part, _ in results for d in part), key=lambda d: (d.seq, str(d.event_id), d.field))
        tally = Tally(messages=self.messages, last_seq=self.last_seq)
        for _, _, part in results:
            assert part is not None
            tally.inputs.update(part.inputs)
            tally.compared += part.compared
            tally.untriaged += part.untriaged
        return found, tally

    def stop(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()
