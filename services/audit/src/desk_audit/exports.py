"""Exports of the log as JSON Lines, with its seals: the whole log, a range, or one incident.

The first line says what the file is; every other line is one stored message (`kind: message`:
seq, time, subject, headers, data). A range is widened to whole seals: it starts right after a
seal's end (that seal's recorded tree state is where a verifier starts) and ends with the seal
that covers its last message. An incident's export holds its messages, each with an inclusion
proof against the newest seal, and that seal: an auditor checks it offline, without the rest."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from nats.js import JetStreamContext

from desk_audit import source
from desk_audit.merkle import Tree
from desk_audit.sealer import BrokenLog, SealState
from desk_audit.seals import Seal, every_seal
from desk_audit.stored import StoredMessage
from desk_shared.contracts.audit import AuditSealed
from desk_shared.contracts.reports import ReportSubmitted

FORMAT = "desk-pemilu-log/v1"
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REPORT_ID = re.compile(rb'"report_id":"([0-9a-f-]{36})"')
Shown = Callable[[int], None]


def header(of: str, stream: str, first: int, last: int, log_key: str | None, **extra: Any) -> str:
    found = {"kind": "export", "format": FORMAT, "of": of, "stream": stream, "from": first, "to": last,
             "exported_at": datetime.now(UTC).isoformat(), "log_key": log_key, **extra}
    return json.dumps(found, ensure_ascii=False) + "\n"


def line(message: StoredMessage, **extra: Any) -> str:
    return json.dumps({"kind": "message", **message.export(), **extra}, ensure_ascii=False) + "\n"


def widened(known: list[Seal], first: int, last: int, end: int) -> tuple[int, int]:
    """`first`..`last` widened to whole seals (see the module's docstring)."""
    start = max((s.payload.last + 1 for s in known if s.payload.last < first), default=1)
    stop = min((s.seq for s in known if s.payload.last >= last), default=end)
    return start, max(stop, last)


async def write_range(js: JetStreamContext, stream: str, out: TextIO, first: int, last: int, log_key: str | None,
                      shown: Shown | None = None) -> tuple[int, int, int]:
    """Every message of first..last (widened); returns (first, last, messages written)."""
    end = await source.last_sequence(js, stream)
    start, stop = widened(await every_seal(js, stream), first, min(last, end), end)
    out.write(header("log" if start == 1 and stop == end else "range", stream, start, stop, log_key))
    written = 0
    async for batch in source.read(js, stream, start, stop):
        out.writelines(line(m) for m in batch)
        written += len(batch)
        if shown:
            shown(batch[-1].seq)
    return start, stop, written


async def write_incident(js: JetStreamContext, stream: str, out: TextIO, incident: str, log_key: str | None,
                         shown: Shown | None = None) -> int:
    """The incident's messages with inclusion proofs against the newest seal; returns how many."""
    known = await every_seal(js, stream)
    if not known:
        raise BrokenLog("the log has no seal yet: nothing can be proven")
    state = SealState()
    for seal in known:
        state.take(seal)
    newest = known[-1]
    tree = Tree(state.leaves)
    related, reports = await _related(js, stream, incident.encode(), shown)
    named = {found_id for message in related for found_id in _UUID.findall(message.data)}
    have = {message.seq for message in related}
    for report_id, seq in reports.items():  # its reports' ReportSubmitted, which name no incident yet
        if report_id in named and seq not in have and (found := await source.message(js, stream, seq)):
            related.append(found)
    related.sort(key=lambda m: m.seq)
    checkpoint = newest.checkpoint
    seal_message = await source.message(js, stream, newest.seq)
    assert seal_message is not None
    out.write(header(f"incident {incident}", stream, related[0].seq if related else 0, newest.seq, log_key,
                     tree_size=checkpoint.size, seal_seq=newest.seq))
    out.write(line(seal_message, role="seal"))
    for message in related:
        proof = None
        if message.seq <= checkpoint.size:
            if tree.leaves[message.seq - 1] != message.leaf():
                raise BrokenLog(f"seq {message.seq} differs from its seal: run `desk-audit verify`")
            proof = {"size": checkpoint.size,
                     "path": [base64.b64encode(p).decode() for p in tree.inclusion_proof(message.seq - 1,
                                                                                          checkpoint.size)]}
        out.write(line(message, proof=proof))
    return len(related)


async def _related(js: JetStreamContext, stream: str, needle: bytes,
                   shown: Shown | None) -> tuple[list[StoredMessage], dict[bytes, int]]:
    """Messages naming the incident, and every report's ReportSubmitted sequence by report id."""
    related: list[StoredMessage] = []
    reports: dict[bytes, int] = {}
    last = await source.last_sequence(js, stream)
    async for batch in source.read(js, stream, 1, last):
        for message in batch:
            if needle in message.data and message.subject != AuditSealed.subject:
                related.append(message)
            elif message.subject == ReportSubmitted.subject and (found := _REPORT_ID.search(message.data)):
                reports[found.group(1)] = message.seq
        if shown:
            shown(batch[-1].seq)
    return related, reports


def read_lines(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-empty line; raises ValueError naming a line that is not JSON."""
    for number, text in enumerate(lines, 1):
        if text.strip():
            try:
                found = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"line {number} is not JSON: {exc}") from exc
            if not isinstance(found, dict):
                raise ValueError(f"line {number} is not an object")
            yield number, found

