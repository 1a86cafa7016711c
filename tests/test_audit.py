"""Issue 20: the log sealed while the desk works, witnessed by another agency, verified over NATS and
offline, every kind of tampering named at its sequence, an incident proven without the rest of the
log, a rewritten history caught by the witness, and erasure leaving the seals verifiable.

The whole system runs as processes with the sealer (`desk-audit seal`) and a witness
(`desk-audit witness`); every check is the `desk-audit` command an auditor runs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from desk_audit.notes import Checkpoint, Note, SigningKey, VerifierKey, sign
from desk_audit.sealer import Sealer
from desk_audit.witnessing import Cosigner, Witness
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.processes import ServiceProcess, answers, service_command, stop_all
from desk_shared.contracts.audit import AuditSealed
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.fixtures import bus_env, read_stream, wait_for
from desk_testing.system import RunningSystem, running_system

pytestmark = pytest.mark.system
ORIGIN = "desk-pemilu/test/DESK_EVENTS"
FINDING = re.compile(r"^  seq (\d+): (\w+): ", re.MULTILINE)


@dataclass
class Audited:
    system: RunningSystem
    home: Path
    log_key: str
    witness_key: str
    witness_url: str
    audit_url: str

    @property
    def env(self) -> dict[str, str]:
        return bus_env(self.system.bus)

    def audit(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desk_audit", *args], env=_env(self.env), capture_output=True,
                              text=True, timeout=timeout)

    def verify(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.audit("verify", "--log-key", self.log_key, "--witness-key", self.witness_key, "--no-progress",
                          *args)


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DESK_")} | extra


def keygen(home: Path, name: str, *extra: str) -> tuple[Path, str]:
    out = home / f"{name}.key"
    done = subprocess.run([sys.executable, "-m", "desk_audit", "keygen", "--name", name, "--out", str(out), *extra],
                          capture_output=True, text=True, check=True)
    return out, done.stdout.split("public key: ")[1].strip()


def findings(output: str) -> list[tuple[int, str]]:
    return [(int(seq), kind) for seq, kind in FINDING.findall(output)]


@pytest.fixture(scope="module")
def audited(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    home = tmp_path_factory.mktemp("audit")
    log_file, log_key = keygen(home, "desk-test")
    witness_file, witness_key = keygen(home, "saksi-bawaslu", "--witness")
    witness_port, audit_port = free_port(), free_port()
    witness = ServiceProcess("witness", service_command(
        "desk_audit", "witness", "--key", str(witness_file), "--state", str(home / "witness.json"), "--log-key",
        log_key, "--origin", ORIGIN, "--port", str(witness_port)), {}, home / "witness.log")
    witness.start()
    witness_url = f"http://127.0.0.1:{witness_port}"
    try:
        wait_for(lambda: answers(witness_url + "/health"), 30, what="the witness")
        with running_system(nats_url, home, DESK_AUDIT_SIGNING_KEY_FILE=str(log_file), DESK_AUDIT_ORIGIN=ORIGIN,
                            DESK_AUDIT_WITNESSES=json.dumps([{"url": witness_url, "key": witness_key}]),
                            DESK_AUDIT_SEAL_SECONDS="0.3", DESK_AUDIT_MAX_RANGE="20",
                            DESK_AUDIT_PORT=str(audit_port)) as system:
            audited = Audited(system, home, log_key, witness_key, witness_url, f"http://127.0.0.1:{audit_port}")
            texts = ["Massa membawa parang mendatangi TPS 03, dua petugas KPPS luka-luka",
                     "Massa bersenjata parang masih bertahan di TPS 03, petugas KPPS terluka",
                     "Kepala desa membagikan amplop berisi uang kepada warga menjelang pencoblosan",
                     "Logistik surat suara untuk TPS 7 belum tiba, kotak suara rusak"]
            for n in range(24):
                answer = httpx.post(f"{system.intake}/v1/reports", headers=system.auth, timeout=10,
                                    json={"kecamatan": f"11.13.0{1 + n % 3}", "text": f"{texts[n % 4]} ({n})"})
                assert answer.status_code == 202, answer.text
            wait_for(lambda: _settled(audited), 90, interval=0.5, what="the log to settle and be sealed")
            yield audited
    finally:
        stop_all([witness])


def _settled(audited: Audited) -> bool:
    """Every report triaged, and everything but the newest seal sealed."""
    kinds = [json.loads(data)["type"] for _, _, data in read_stream(audited.system.bus)]
    if kinds.count("ReportTriaged") < 24:
        return False
    health = httpx.get(audited.audit_url + "/health", timeout=2).json()
    return health["seal_seq"] == len(kinds) and health["sealed_to"] == len(kinds) - 1


def test_the_log_verifies_clean_with_every_seal_cosigned(audited: Audited) -> None:
    done = audited.verify("--witness", audited.witness_url)
    assert done.returncode == 0, done.stdout + done.stderr
    seals = int(re.search(r"(\d+) seals", done.stdout).group(1))
    assert seals >= 5 and f"cosigned: saksi-bawaslu {seals} of {seals};" in done.stdout, done.stdout
    assert "verified: no change, gap or reordering" in done.stdout
    key = httpx.get(audited.audit_url + "/v1/key").text.strip()
    assert key == audited.log_key  # the published key is the one that verifies


def test_the_read_only_auditor_sees_a_wrong_key_refused(audited: Audited) -> None:
    _, other = keygen(audited.home, "not-the-desk")
    done = audited.audit("verify", "--log-key", other, "--no-progress")
    assert done.returncode == 1 and "not signed by the log's key not-the-desk" in done.stdout


@pytest.fixture(scope="module")
def export(audited: Audited) -> list[dict]:
    out = audited.home / "log.jsonl"
    done = audited.audit("export", "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["kind"] == "export" and lines[0]["of"] == "log"
    assert [line["seq"] for line in lines[1:]] == list(range(1, len(lines)))
    return lines


def _verify_lines(audited: Audited, lines: list[dict], name: str) -> subprocess.CompletedProcess[str]:
    path = audited.home / name
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return audited.verify("--export", str(path))


def _message_at(lines: list[dict], kind: str, nth: int = 0) -> int:
    """The index (line number) of the nth message of an event type, not near either end."""
    found = [i for i, line in enumerate(lines) if i > 5 and line.get("data", "").startswith(f'{{"type":"{kind}"')]
    return found[nth]


def test_an_untouched_export_verifies_offline(audited: Audited, export: list[dict]) -> None:
    done = _verify_lines(audited, export, "untouched.jsonl")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(export) - 1:,} messages (from seq 1" in done.stdout


def test_every_kind_of_tampering_is_named_at_its_sequence(audited: Audited, export: list[dict]) -> None:
    at = _message_at(export, "ReportTriaged", 5)
    seq = export[at]["seq"]

    altered = [dict(line) for line in export]
    altered[at]["data"] = altered[at]["data"].replace('"severity":"', '"severity":"x', 1)
    dropped = export[:at] + export[at + 1:]
    reordered = [*export[:at], export[at + 1], export[at], *export[at + 2:]]
    duplicate = dict(export[at + 3], seq=seq)
    inserted = [*export[:at + 1], duplicate, *export[at + 1:]]
    renumbered = export[:at] + [dict(export[at + 3], seq=seq)] + [dict(line, seq=line["seq"] + 1)
                                                                 for line in export[at:]]
    retimed = [dict(line) for line in export]
    retimed[at]["time"] = retimed[at]["time"].replace(":", ";", 1).replace(";", ":", 1)[:-4] + "999Z"
    expected = {"altered": (altered, seq, "changed"), "dropped": (dropped, seq, "missing"),
                "reordered": (reordered, seq, "reordered"), "inserted": (inserted, seq, "inserted"),
                "renumbered": (renumbered, seq, "changed"), "retimed": (retimed, seq, "changed")}
    for name, (lines, where, kind) in expected.items():
        done = _verify_lines(audited, lines, f"{name}.jsonl")
        assert done.returncode == 1, (name, done.stdout)
        assert findings(done.stdout)[0] == (where, kind), (name, done.stdout)


def test_a_changed_seal_is_named(audited: Audited, export: list[dict]) -> None:
    at = next(i for i, line in enumerate(export) if i > 30 and line.get("subject") == AuditSealed.subject)
    lines = [dict(line) for line in export]
    event = json.loads(lines[at]["data"])
    leaves = bytearray(base64.b64decode(event["payload"]["leaves"]))
    leaves[0] ^= 1
    event["payload"]["leaves"] = base64.b64encode(bytes(leaves)).decode()
    lines[at]["data"] = json.dumps(event, separators=(",", ":"))
    done = _verify_lines(audited, lines, "seal.jsonl")
    assert done.returncode == 1
    assert (lines[at]["seq"], "seal") in findings(done.stdout), done.stdout


def test_a_range_export_verifies_from_the_seal_before_it(audited: Audited, export: list[dict]) -> None:
    out = audited.home / "range.jsonl"
    middle = len(export) // 2
    done = audited.audit("export", "--out", str(out), "--from", str(middle), "--to", str(middle + 10), "--no-progress")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["of"] == "range" and 1 < lines[0]["from"] <= middle and lines[0]["to"] >= middle + 10
    done = audited.verify("--export", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(re.search(r"sealed through seq (\d+)", done.stdout).group(1)) >= middle + 10, done.stdout
    lines[5]["data"] = lines[5]["data"].replace("a", "b", 1)
    done = _verify_lines(audited, lines, "range-altered.jsonl")
    assert findings(done.stdout)[0] == (lines[5]["seq"], "changed"), done.stdout


def test_an_incident_is_proven_offline_without_the_rest_of_the_log(audited: Audited) -> None:
    incidents = httpx.get(f"{audited.system.projection}/v1/incidents", headers=audited.system.reader).json()
    incident = max(incidents["items"], key=lambda i: i["report_count"])
    assert incident["report_count"] >= 2
    out = audited.home / "incident.jsonl"
    done = audited.audit("prove", incident["incident_id"], "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    messages = lines[2:]
    kinds = {json.loads(m["data"])["type"] for m in messages}
    assert {"ReportSubmitted", "ReportTriaged", "IncidentOpened"} <= kinds, kinds
    assert sum(json.loads(m["data"])["type"] == "ReportSubmitted" for m in messages) == incident["report_count"]
    done = audited.verify("--export", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(messages)} messages proven" in done.stdout and "cosigned by saksi-bawaslu" in done.stdout
    lines[3]["data"] = lines[3]["data"].replace('"', "'", 1)
    done = _verify_lines(audited, lines, "incident-altered.jsonl")
    assert done.returncode == 1 and findings(done.stdout)[0] == (lines[3]["seq"], "changed"), done.stdout


def test_the_witness_refuses_a_rewritten_history_and_verify_names_the_fork(audited: Audited,
                                                                          export: list[dict]) -> None:
    known = httpx.get(audited.witness_url + "/v1/checkpoint").json()
    checkpoint = Checkpoint.parse(Note.parse(known["checkpoint"]).body)
    desk = SigningKey.parse((audited.home / "desk-test.key").read_text())
    forged = Checkpoint(ORIGIN, checkpoint.size, bytes(32), checkpoint.chain, checkpoint.first, bytes(32))
    answer = httpx.post(audited.witness_url + "/v1/cosign", json={
        "checkpoint": sign(forged.body(), desk).text(), "old_size": checkpoint.size, "consistency": []})
    assert answer.status_code == 409 and "forked" in answer.text
    longer = Checkpoint(ORIGIN, checkpoint.size + 5, bytes(32), checkpoint.chain, checkpoint.size + 1, bytes(32))
    answer = httpx.post(audited.witness_url + "/v1/cosign", json={
        "checkpoint": sign(longer.body(), desk).text(), "old_size": checkpoint.size, "consistency": []})
    assert answer.status_code == 422 and "rewritten" in answer.text

    # the desk rewrites one early report on another server and seals the rewritten copy with its own key
    server = EmbeddedNats(audited.home / "fork", free_port(), sync_always=False)
    server.start()
    try:
        bus = BusSettings(nats_url=server.url)
        asyncio.run(_forge(bus, export, _message_at(export, "ReportSubmitted", 1), audited))
        done = subprocess.run([sys.executable, "-m", "desk_audit", "verify", "--log-key", audited.log_key,
                               "--witness-key", audited.witness_key, "--witness", audited.witness_url,
                               "--no-progress"],
                              env=_env(bus_env(bus)), capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "saksi-bawaslu cosigned another root" in done.stdout and "a forked history" in done.stdout


async def _forge(bus: BusSettings, export: list[dict], at: int, audited: Audited) -> None:
    """A copy of the log up to the last seal with message `at` rewritten, sealed again by the desk's key."""

    nc = await connect(bus, "forger")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    for line in export[1:]:
        if line["subject"] == AuditSealed.subject:
            continue  # its own seals come from the forger's sealer
        data = line["data"].replace("Massa", "Warga", 1) if line is export[at] else line["data"]
        await js.publish(line["subject"], data.encode())
    while (await js.stream_info(bus.stream_name)).state.last_seq <= len(export):  # as long as the original
        await js.publish(export[at]["subject"], export[at]["data"].encode())
    sealer = Sealer(js, EventPublisher(js, bus), bus.stream_name, SigningKey.parse(
        (audited.home / "desk-test.key").read_text()), ORIGIN,
        Cosigner([Witness(audited.witness_url, VerifierKey.parse(audited.witness_key))]), 10_000)
    await sealer.start()
    assert await sealer.seal_once() > 0
    assert sealer.state.witness_sizes == {}  # the witness cosigned nothing of it
    await nc.close()
