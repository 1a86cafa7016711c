"""Determinism for auditors (issue 20): a generated election day of at least 100,000 events, made by
the real triage service as a process against a real nats-server (reports published as intake would,
officers acting through triage's command door) while a live projection applies it, gives the same
decisions and read models when replayed:

(a) `desk-triage replay --from-nats`, as the read-only auditor user, derives every event triage derived;
(b) so does `desk-triage replay --export` over a JSON Lines export of the stream;
(c) `desk-projection check` finds the live read models equal to a rebuild from the log;
(d) a copy of the log with one derived event altered is refused (exit 1, naming that event), one with
    another rule set's version cannot be checked (exit 2), and an export that is not one neither.

`DESK_TEST_DETERMINISM_EVENTS` sets the size (default 100,000)."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from desk_access.nats_authorization import AUDITOR
from desk_pemilu.processes import service_command
from desk_testing.election_day import SecuredDesk, generate, secured_desk
from desk_testing.fixtures import read_stream, wait_for

pytestmark = pytest.mark.system

EVENTS = int(os.environ.get("DESK_TEST_DETERMINISM_EVENTS", "100000"))
EVENTS_PER_REPORT = 5.0
"""What a generated day makes per report, at least (5.2-6.0 measured): reports, triage, incidents, deadlines,
the officers' decisions."""
SEED = 2024


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen[str], within: float = 300.0) -> tuple[int, str]:
    out, err = process.communicate(timeout=within)
    return process.returncode, out + err


def replay(*args: str) -> list[str]:
    return service_command("desk_triage", "replay", "--no-progress", *args)


def projected_up_to(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        found = conn.execute("SELECT position FROM checkpoints WHERE name = 'read_models'").fetchone()
        return int(found[0]) if found else 0


def skipped(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("SELECT count(*) FROM skipped_events").fetchone()[0])


def write_export(desk: SecuredDesk, path: Path) -> list[tuple[int, str, bytes]]:
    """The stream as JSON Lines, one {"seq", "subject", "data"} per message, read as the auditor."""
    messages = read_stream(desk.bus(AUDITOR))
    with path.open("w", encoding="utf-8") as out:
        for seq, subject, data in messages:
            out.write(json.dumps({"seq": seq, "subject": subject, "data": data.decode()}, ensure_ascii=False) + "\n")
    return messages


def altered_copy(messages: list[tuple[int, str, bytes]], path: Path, change: str) -> tuple[int, str, str]:
    """A copy of the first part of the log with one event triage derived altered (`change`: "severity" of an
    incident it opened, or the "rules" its first report was classified with); the altered event's seq,
    id and type."""
    wanted = "IncidentOpened" if change == "severity" else "ReportTriaged"
    start = len(messages) // 20
    index, event = next((n, json.loads(data)) for n, (_, _, data) in enumerate(messages)
                        if n >= start and json.loads(data)["type"] == wanted)
    if change == "severity":
        was = event["payload"]["severity"]
        event["payload"]["severity"] = "kritis" if was != "kritis" else "rendah"
    else:
        event["payload"]["rule_set_version"] = "2020.01-1+00000000"
    seq = messages[index][0]
    with path.open("w", encoding="utf-8") as out:
        for n, (s, subj, data) in enumerate(messages[:index + 3000]):
            text = json.dumps(event, ensure_ascii=False, separators=(",", ":")) if n == index else data.decode()
            out.write(json.dumps({"seq": s, "subject": subj, "data": text}, ensure_ascii=False) + "\n")
    return seq, event["event_id"], event["type"]


@pytest.mark.timeout(1200)
def test_a_generated_election_day_replays_to_the_same_decisions_and_read_models(tmp_path: Path) -> None:
    began = time.monotonic()

    def took(what: str) -> None:
        print(f"{time.monotonic() - began:6.1f} s  {what}", flush=True)

    with secured_desk(tmp_path) as desk:
        outcome, last = generate(desk, math.ceil(EVENTS / EVENTS_PER_REPORT), SEED)
        took(f"generated: {last:,} events, officers' commands by status {dict(outcome.commands)}")
        database = tmp_path / "projection.db"
        wait_for(lambda: projected_up_to(database) >= last, 120, what="the live projection to apply the whole log")
        took("the live projection applied it")
        messages = write_export(desk, tmp_path / "log.jsonl")
        kinds = Counter(json.loads(data)["type"] for _, _, data in messages)
        took(f"exported: {dict(kinds.most_common())}")
        assert len(messages) == last >= EVENTS, kinds
        assert outcome.commands[202] > 1000 and kinds["IncidentClosed"] and kinds["IncidentVerified"]
        assert kinds["IncidentReportAdded"] > kinds["IncidentOpened"] > 0  # reports join incidents
        assert kinds["IncidentAssignmentOverdue"] and kinds["AreaAlertLevelChanged"] and kinds["IncidentReopened"]

        # side by side on the two cores: the one from NATS in one process, the export's in two workers
        from_nats = start(replay("--from-nats", "--jobs", "1"), desk.env(AUDITOR))
        from_export = start(replay("--export", str(tmp_path / "log.jsonl"), "--jobs", "2"), {})
        code, said = finished(from_nats)
        assert code == 0, said + desk.logs()
        assert "IDENTICAL" in said and f"replayed {last:,} events" in said, said
        code, said = finished(from_export)
        assert code == 0, said
        assert "IDENTICAL" in said and f"replayed {last:,} events" in said, said
        took("replayed from NATS (as the auditor) and from the export: identical")

        check = start(service_command("desk_projection", "check", "--database-url", desk.database_url,
                                      "--no-progress"), desk.env("projection"))
        seq, event_id, event_type = altered_copy(messages, tmp_path / "altered.jsonl", "severity")
        code, said = finished(start(replay("--export", str(tmp_path / "altered.jsonl"), "--jobs", "2"), {}))
        assert code == 1, said
        first = said.split("DIFFERENT:", 1)[1].splitlines()[1]
        assert f"seq {seq} event {event_id} ({event_type}): payload.severity" in first, said
        altered_copy(messages, tmp_path / "other-rules.jsonl", "rules")
        code, said = finished(start(replay("--export", str(tmp_path / "other-rules.jsonl"), "--jobs", "1"), {}))
        assert code == 2 and "2020.01-1+00000000" in said, said
        (tmp_path / "broken.jsonl").write_text('{"seq": 1, "subject": "desk.event.report.submitted"}\n')
        code, said = finished(start(replay("--export", str(tmp_path / "broken.jsonl")), {}))
        assert code == 2 and "line 1" in said, said
        took("negative controls refused")

        code, said = finished(check)
        assert code == 0, said
        assert f"at position {last}" in said and "IDENTICAL" in said, said
        assert skipped(database) == 0
        took("desk-projection check: identical")
        assert "violation" not in (tmp_path / "nats-server.log").read_text().lower()  # the auditor read only
