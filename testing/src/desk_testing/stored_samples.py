"""Stored samples of every event type, in every schema version it was ever written in: the exact
bytes the producing code appended to the log, kept in `shared/tests/stored_samples/` and read by
`shared/tests/test_stored_samples.py` through today's `decode_event` (upcasters included).

Samples are taken from real logs: the services run as their own processes on an embedded
nats-server, a short scenario drives them through their APIs and the operator's CLI, and the
stream is read back. Nothing existing is ever rewritten: a run stores only the samples that are
missing and adds them to `MANIFEST.json` with their SHA-256 and where they came from.

    python -m desk_testing.stored_samples current
        today's code (the working tree): a sample of every registered type's current version
    python -m desk_testing.stored_samples old --commit COMMIT [--label LABEL] [--only TYPE]...
        the services of an old commit (exported with `git archive` into a temporary folder and run
        from there on this virtual environment): samples of the version that code wrote

The stored samples were made with, in this order:

    python -m desk_testing.stored_samples old --commit 49bf031e      # version 1's last code
    python -m desk_testing.stored_samples old --commit dc3c9d37 --label dc3c9d3 --only ReportTriaged
    python -m desk_testing.stored_samples current                    # version 2

(dc3c9d37 is version 1's first code: its ReportTriaged lacked the fields 1538c3de added.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import httpx

from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.inbox import Inbox
from desk_pemilu.processes import answers

REPOSITORY = Path(__file__).resolve().parents[3]
SAMPLES = REPOSITORY / "shared" / "tests" / "stored_samples"
MANIFEST = "MANIFEST.json"
STREAM = "DESK_EVENTS"
WIB = timezone(timedelta(hours=7))
PASSWORD = "kata-sandi-sampel-2026"
"""The sample people's password (they exist only in the throwaway log of a generator run)."""

T = TypeVar("T")
Found = tuple[int, str, bytes]
"""A message of the stream: (sequence, subject, data)."""


# ----------------------------------------------------------------------------- the samples folder
def sample_name(event_type: str, version: int, label: str | None = None) -> str:
    """`ReportSubmitted.v1.json`; another sample of the same version: `ReportTriaged.v1.dc3c9d3.json`."""
    return f"{event_type}.v{version}{f'.{label}' if label else ''}.json"


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if path.exists():
        return json.loads(path.read_text())
    return {"about": ABOUT, "not_written": {}, "runs": {}, "samples": {}}


ABOUT = ("Stored samples of every event type in every schema version it was written in: the exact bytes the "
         "producing code wrote to the log. Never edit or regenerate a sample (its sha256 is checked); a new "
         "type or a new version adds one with `python -m desk_testing.stored_samples`. `not_written` names "
         "registered types that no code ever writes, and why.")


def store(folder: Path, manifest: dict[str, Any], data: bytes, source: dict[str, Any], label: str | None = None
          ) -> str | None:
    """Write a sample unless its file exists; its name, or None when it was there already."""
    raw = json.loads(data)
    name = sample_name(raw["type"], raw.get("schema_version", 1), label)
    path = folder / name
    if path.exists() or name in manifest["samples"]:
        return None
    path.write_bytes(data)
    manifest["samples"][name] = {"type": raw["type"], "version": raw.get("schema_version", 1),
                                 "sha256": hashlib.sha256(data).hexdigest(), **source}
    return name


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    manifest["samples"] = dict(sorted(manifest["samples"].items()))
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")


def richest(found: list[Found]) -> Found:
    """The message whose payload says the most (most fields set), the earliest of equals."""
    def said(item: Found) -> tuple[int, int]:
        payload = json.loads(item[2]).get("payload") or {}
        return sum(1 for v in payload.values() if v not in (None, "", [], {})), -item[0]

    return max(found, key=said)


def by_type(log: list[Found]) -> dict[str, list[Found]]:
    kinds: dict[str, list[Found]] = {}
    for item in log:
        kinds.setdefault(json.loads(item[2])["type"], []).append(item)
    return kinds


def git(*args: str) -> str:
    """A read-only git command in the repository."""
    return subprocess.run(["git", *args], cwd=REPOSITORY, check=True, capture_output=True, text=True).stdout.strip()


# ----------------------------------------------------------------------------- a system of processes
def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


def read_log(nats_url: str) -> list[Found]:
    """Every message of the event stream, by sequence."""
    async def run() -> list[Found]:
        import nats

        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(STREAM)).state.last_seq
            found = []
            for seq in range(1, last + 1):
                msg = await js.get_msg(STREAM, seq)
                found.append((seq, msg.subject or "", msg.data or b""))
            return found
        finally:
            await nc.close()

    return asyncio.run(run())


@dataclass
class Processes:
    items: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for p in self.items:
            if p.poll() is None:
                p.terminate()
        for p in self.items:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start(modules: dict[str, list[str]], env: dict[str, str], home: Path) -> Processes:
    """Each service `name: argv after python -m` as its own process, output in `home/<name>.log`."""
    items = []
    environment = os.environ | env | {"PYTHONUNBUFFERED": "1"}
    for name, argv in modules.items():
        with open(home / f"{name}.log", "ab") as out:
            items.append(subprocess.Popen([sys.executable, "-m", *argv], env=environment, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    return Processes(items)


@contextlib.contextmanager
def nats_server(home: Path) -> Iterator[str]:
    server = EmbeddedNats(home / "nats", free_port(), sync_always=False)
    server.start(log_file=home / "nats-server.log")
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def alert_inbox() -> Iterator[Inbox]:
    inbox = Inbox(0)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    try:
        yield inbox
    finally:
        inbox.shutdown()


# ----------------------------------------------------------------------------- an old commit's services
def export(commit: str, into: Path) -> Path:
    """The commit's tree, as `git archive` gives it (the repository is only read)."""
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPOSITORY, check=True, stdout=out)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_old(commit: str, home: Path) -> list[Found]:
    """The old commit's intake, triage and notify on a fresh nats-server (its code first on the
    path), one report as an agency sent it then; the log they wrote."""
    tree = export(commit, home)
    paths = [tree / "shared" / "src", tree / "src", *sorted((tree / "services").glob("*/src"))]
    with nats_server(home) as nats_url, alert_inbox() as inbox:
        contacts = home / "contacts.toml"  # the first contacts format: the Polsek reachable, the Koramil not
        contacts.write_text(f'[[contact]]\nmatch = "polsek:*"\nwebhook = "http://127.0.0.1:{inbox.server_port}/alerts"'
                            '\nname = "Polsek piket"\n')
        port = free_port()
        env = {"PYTHONPATH": os.pathsep.join(map(str, paths)), "DESK_NATS_URL": nats_url,
               "DESK_INTAKE_PORT": str(port), "DESK_NOTIFY_CONTACTS_FILE": str(contacts)}
        services = start({"intake": ["desk_intake"], "triage": ["desk_triage"], "notify": ["desk_notify"]}, env, home)
        try:
            intake = f"http://127.0.0.1:{port}"
            wait_for(lambda: answers(intake + "/health"), 60, "the old intake")
            time.sleep(2)  # triage and notify create their consumers
            answer = httpx.post(f"{intake}/v1/reports", headers={"Idempotency-Key": "bawaslu-2026-0412"}, json={
                "kecamatan": "11.13.01", "village": "11.13.01.2002", "agency": "bawaslu",
                "occurred_at": (datetime.now(WIB) - timedelta(minutes=20)).isoformat(timespec="seconds"),
                "category_hint": "violence",
                "text": "Massa membawa parang mendatangi TPS 03 Desa Penampaan, dua petugas KPPS luka-luka"})
            answer.raise_for_status()
            wanted = {"ReportSubmitted", "ReportTriaged", "IncidentEscalated", "AlertDelivered", "AlertFailed"}
            wait_for(lambda: wanted <= set(by_type(read_log(nats_url))), 60, "the old services' events")
        finally:
            services.stop()
        return read_log(nats_url)


# ----------------------------------------------------------------------------- today's services
@dataclass
class Desk:
    """The running system and the people and keys the scenario made."""

    nats_url: str
    url: dict[str, str]
    home: Path
    keys: dict[str, str]
    tokens: dict[str, dict[str, str]]

    def log(self) -> list[Found]:
        return read_log(self.nats_url)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(data) for _, _, data in self.log() if json.loads(data)["type"] == event_type]

    def operator(self, *args: str, password: bool = False) -> str:
        """`desk-access --operator ops.desk ...`, as the desk's operator runs it."""
        done = subprocess.run([sys.executable, "-m", "desk_access", "--operator", "ops.desk", *args],
                              env=os.environ | {"DESK_NATS_URL": self.nats_url}, capture_output=True, text=True,
                              input=PASSWORD + "\n" if password else None)
        if done.returncode:
            raise RuntimeError(f"desk-access {' '.join(args)}: {done.stderr}")
        return done.stdout

    def report(self, agency: str, **body: Any) -> str:
        headers = {"Authorization": f"Bearer {self.keys[agency]}"}
        if key := body.pop("idempotency_key", None):
            headers["Idempotency-Key"] = key

        def accepted() -> str | None:  # a key just issued is accepted once intake has read its event
            answer = httpx.post(f"{self.url['intake']}/v1/reports", headers=headers, json=body)
            if answer.status_code not in (202, 401):
                raise RuntimeError(f"report refused: {answer.status_code} {answer.text}")
            return answer.json()["report_id"] if answer.status_code == 202 else None

        return wait_for(accepted, 20, f"intake to accept {agency}'s key")

    def incident_of(self, report_id: str) -> str:
        def placed() -> str | None:
            return next((e["payload"]["incident_id"] for e in self.events("ReportTriaged")
                         if e["payload"]["report_id"] == report_id), None)

        return wait_for(placed, 30, f"report {report_id} triaged")

    def act(self, who: str, incident: str, action: str, **body: Any) -> None:
        answer = httpx.post(f"{self.url['triage']}/v1/incidents/{incident}/{action}", headers=self.tokens[who],
                            json=body)
        if answer.status_code != 202:
            raise RuntimeError(f"{action} on {incident}: {answer.status_code} {answer.text}")

    def login(self, login: str) -> None:
        def session() -> str | None:
            answer = httpx.post(f"{self.url['access']}/v1/login", json={"login": login, "password": PASSWORD})
            return answer.json()["token"] if answer.status_code == 200 else None

        self.tokens[login] = {"Authorization": f"Bearer {wait_for(session, 30, f'{login} to log in')}"}

    def wait_types(self, *types: str, timeout: float = 60) -> None:
        wait_for(lambda: set(types) <= set(by_type(self.log())), timeout, f"events {', '.join(types)}")


def quick_policy() -> str:
    """The packaged escalation policy with its minutes made seconds: steps every 6 s, a reminder after 12."""
    text = (files("desk_notify.escalation") / "policy.toml").read_text()
    text = re.sub(r"(?m)^ack_within_minutes = .*$", "ack_within_minutes = 0.1", text)
    text = re.sub(r"(?m)^remind_after_minutes = .*$", "remind_after_minutes = 0.2", text)
    return re.sub(r"(?m)^reminders = .*$", "reminders = 1", text)


def quick_routing() -> str:
    """The packaged routing with every deadline one minute (the shortest it allows) and two to act."""
    text = (files("desk_triage.incidents") / "routing.toml").read_text()
    text = re.sub(r"(?m)^acknowledge_minutes = .*$", "acknowledge_minutes = 1", text)
    return re.sub(r"(?m)^act_minutes = .*$", "act_minutes = 2", text)


def contacts(*entries: str) -> str:
    return "\n".join(entries)


def contact(contact_id: str, serves: list[str], label: str, address: str, name: str | None = None) -> str:
    person = f'name = "{name}"\n' if name else ""
    return (f'[[contact]]\nid = "{contact_id}"\nserves = {json.dumps(serves)}\nlabel = "{label}"\n{person}'
            f'channels = [{{ kind = "webhook", address = "{address}" }}]\n')


def rewrite(path: Path, text: str) -> None:
    """Replace a file notify watches, with a modification time it cannot mistake for the last one."""
    before = path.stat().st_mtime if path.exists() else 0.0
    path.write_text(text)
    os.utime(path, (before + 2, before + 2))


def run_current(home: Path) -> list[Found]:
    """Today's five services on a fresh nats-server, driven through a compressed working day."""
    with nats_server(home) as nats_url, alert_inbox() as inbox:
        inbox_url = f"http://127.0.0.1:{inbox.server_port}/alerts"
        nobody = f"http://127.0.0.1:{free_port()}/alerts"  # no one listens there: deliveries fail
        (home / "policy.toml").write_text(quick_policy())
        (home / "routing.toml").write_text(quick_routing())
        contacts_file = home / "contacts.toml"
        rewrite(contacts_file, f'[[contact]]\nmatch = "*"\nwebhook = "{inbox_url}"\nname = "desk-pemilu"\n')
        ports = {name: free_port() for name in ("intake", "projection", "access", "triage", "notify")}
        env = {f"DESK_{name.upper()}_PORT": str(port) for name, port in ports.items()} | {
            "DESK_NATS_URL": nats_url, "DESK_PROJECTION_DATABASE_URL": f"sqlite:///{home / 'projection.db'}",
            "DESK_NOTIFY_CONTACTS_FILE": str(contacts_file), "DESK_NOTIFY_POLICY_FILE": str(home / "policy.toml"),
            "DESK_NOTIFY_LINK_SECRET": "sampel-rahasia-tautan-" * 2, "DESK_NOTIFY_MAX_ATTEMPTS": "2",
            "DESK_NOTIFY_FIRST_RETRY_DELAY": "0.2", "DESK_NOTIFY_GROUP_SECONDS": "8",
            "DESK_TRIAGE_ROUTING_FILE": str(home / "routing.toml"), "DESK_TRIAGE_CHECK_MINUTES": "0.15",
            "DESK_AUDIT_SIGNING_KEY_FILE": str(signing_key(home)), "DESK_AUDIT_SEAL_SECONDS": "2",
            "DESK_AUDIT_PORT": str(free_port())}
        services = start({"intake": ["desk_intake"], "triage": ["desk_triage"], "projection": ["desk_projection"],
                          "notify": ["desk_notify"], "access": ["desk_access", "serve"],
                          "audit": ["desk_audit", "seal"]}, env, home)
        desk = Desk(nats_url, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, home, {}, {})
        try:
            for address in desk.url.values():
                wait_for(lambda address=address: answers(address + "/health"), 90, f"{address} to serve")
            working_day(desk, inbox_url, nobody, contacts_file)
        finally:
            services.stop()
        return read_log(nats_url)


def signing_key(home: Path) -> Path:
    """The sealer's key for the run (thrown away with it)."""
    subprocess.run([sys.executable, "-m", "desk_audit", "keygen", "--name", "desk-pemilu/sampel", "--out",
                    str(home / "audit.key")], check=True, capture_output=True)
    return home / "audit.key"


def working_day(desk: Desk, inbox_url: str, nobody: str, contacts_file: Path) -> None:
    """Agencies and people registered, contacts changed, reports from the field, officers' decisions,
    alerts delivered, failed, held and acknowledged, chains run out, deadlines missed, data erased."""
    operator = desk.operator
    for code, name, kind, area in (
            ("bawaslu", "Bawaslu Kabupaten Gayo Lues", "bawaslu", ("--regency", "11.13")),
            ("panwascam-blangkejeren", "Panwascam Blangkejeren", "panwascam", ("--kecamatan", "11.13.01")),
            ("polres", "Polres Gayo Lues", "polres", ("--regency", "11.13")),
            ("kpu", "KPU Kabupaten Gayo Lues", "kpu", ("--regency", "11.13")),
            ("camat-blangkejeren", "Kantor Camat Blangkejeren", "kecamatan", ("--kecamatan", "11.13.01"))):
        operator("register", code, "--name", name, "--kind", kind, *area)
    operator("areas", "camat-blangkejeren", "--kecamatan", "11.13.01", "--kecamatan", "11.13.02")
    key_ids = {}
    for code in ("bawaslu", "polres", "kpu", "camat-blangkejeren"):
        told = operator("issue", code)
        desk.keys[code] = re.search(r"dpk_[0-9a-f]{12}_\S+", told).group(0)  # type: ignore[union-attr]
        key_ids[code] = re.search(r"key id ([0-9a-f]{12})", told).group(1)  # type: ignore[union-attr]
    told = operator("rotate", key_ids["kpu"])
    desk.keys["kpu"] = re.search(r"dpk_[0-9a-f]{12}_\S+", told).group(0)  # type: ignore[union-attr]
    operator("revoke", key_ids["camat-blangkejeren"], "--reason", "Laptop operator kecamatan hilang")

    for login, name, role, area in (
            ("petugas.desk", "Petugas Desk (sampel)", "desk_officer", ("--regency", "11.13")),
            ("penghubung.polsek", "Penghubung Polsek (sampel)", "liaison", ("--kecamatan", "11.13.01")),
            ("auditor.sampel", "Auditor Inspektorat (sampel)", "auditor", ("--regency", "11.13")),
            ("magang.desk", "Peserta Magang (sampel)", "leader", ("--regency", "11.13"))):
        operator("person", "add", login, "--name", name, "--phone", "+62 811 0000 0000", "--role", role, *area,
                 "--password-stdin", password=True)
    operator("person", "roles", "magang.desk", "--role", "leader", "--role", "desk_officer",
             "--kecamatan", "11.13.01")
    operator("person", "disable", "magang.desk", "--reason", "Masa magang selesai")
    operator("person", "erase", "magang.desk", "--reason", "Permintaan penghapusan data pribadi")
    operator("person", "list")
    for login in ("petugas.desk", "penghubung.polsek"):
        desk.login(login)

    desk.wait_types("ContactRegistered")
    rewrite(contacts_file, contacts(
        contact("koramil-blangkejeren", ["koramil:11.13.01"], "Koramil Blangkejeren - piket", nobody,
                "Piket Koramil (sampel)"),
        contact("kodim-gayo-lues", ["kodim:11.13"], "Kodim 0113/Gayo Lues - piket", inbox_url),
        contact("desk-pemilu", ["*"], "Desk Pemilu - ruang kendali", inbox_url)))
    desk.wait_types("ContactChanged")
    rewrite(contacts_file, contacts(
        contact("koramil-blangkejeren", ["koramil:11.13.01"], "Koramil Blangkejeren - piket", nobody,
                "Piket Koramil (sampel)"),
        contact("desk-pemilu", ["*"], "Desk Pemilu - ruang kendali", inbox_url)))
    desk.wait_types("ContactRemoved")

    now = datetime.now(WIB)
    money = desk.report("bawaslu", kecamatan="11.13.01", village="11.13.01.2003", category_hint="money_politics",
                        occurred_at=(now - timedelta(minutes=40)).isoformat(timespec="seconds"),
                        idempotency_key="bawaslu-2026-0917",
                        reporter={"name": "Pelapor Contoh", "phone": "+62 812 0000 0000"},
                        text="Timses paslon 2 bagi amplop isi 100 ribu ke rumah warga malam ini di dusun Bukit")
    again = desk.report("bawaslu", kecamatan="11.13.01", village="11.13.01.2003",
                        text="Laporan warga: amplop uang dari tim paslon 2 dibagikan malam ini ke warga dusun Bukit")
    violent = desk.report("polres", kecamatan="11.13.01", village="11.13.01.2002",
                          text="Massa membawa parang mendatangi TPS 03 Desa Penampaan, dua petugas KPPS luka-luka")
    desk.report("polres", kecamatan="11.13.01",
                text="Pendukung dua paslon saling lempar batu di depan posko Blangkejeren, situasi memanas")
    confirmed = desk.report("bawaslu", kecamatan="11.13.03",
                            text="Kepala desa ikut rapat tim pemenangan paslon 1 di rumah makan.")
    dismissed = desk.report("bawaslu", kecamatan="11.13.04",
                            text="Kepala desa ikut rapat tim pemenangan paslon 1 di rumah makan.")
    banner = desk.report("kpu", kecamatan="11.13.02", text="Spanduk paslon 1 dirusak orang tak dikenal di jalan desa")
    ballots = desk.report("kpu", kecamatan="11.13.01",
                          text="Surat suara untuk TPS 7 kurang 20 lembar, PPS sedang berkoordinasi dengan KPU.")

    officer = "petugas.desk"
    desk.act(officer, desk.incident_of(confirmed), "urgency", urgent=True, note="Dicek ke Panwascam: benar")
    desk.act(officer, desk.incident_of(dismissed), "urgency", urgent=False, note="Rapat desa biasa, bukan kampanye")
    money_incident = desk.incident_of(money)
    wait_for(lambda: desk.incident_of(again) == money_incident, 30, "the second report joining the first's incident")
    desk.act(officer, money_incident, "verify", note="Dicek ke Panwascam: benar")
    desk.act(officer, money_incident, "notes", note="PKD Bukit sudah di lokasi")
    desk.act(officer, money_incident, "split", report_ids=[again], note="Laporan kedua dusun lain")
    split = wait_for(lambda: next((e["payload"]["new_incident_id"] for e in desk.events("IncidentSplit")), None), 30,
                     "the split")
    desk.act(officer, money_incident, "merge", incident_id=split, note="Ternyata kejadian yang sama")
    desk.act(officer, money_incident, "assignments", agency="kesbangpol", note="Koordinasi Kesbangpol")
    progress = httpx.post(f"{desk.url['triage']}/v1/incidents/{money_incident}/progress",
                          headers={"Authorization": f"Bearer {desk.keys['bawaslu']}"},
                          json={"stage": "acknowledged", "note": "PKD meluncur"})
    progress.raise_for_status()
    banner_incident = desk.incident_of(banner)
    desk.act(officer, banner_incident, "category", category="campaign_violation", note="Perusakan alat peraga")
    desk.act(officer, banner_incident, "severity", severity="rendah", note="Tidak ada korban")
    ballots_incident = desk.incident_of(ballots)
    desk.act(officer, ballots_incident, "close", reason="selesai_ditindaklanjuti", note="KPU mengirim surat suara")
    desk.act(officer, ballots_incident, "reopen", note="Kekurangan juga di TPS 8")

    violent_incident = desk.incident_of(violent)
    desk.wait_types("EscalationStarted")
    acknowledged = httpx.post(f"{desk.url['notify']}/v1/incidents/{violent_incident}/acknowledgement",
                              headers=desk.tokens["penghubung.polsek"], json={"liaison_id": "polsek:11.13.01"})
    acknowledged.raise_for_status()
    operator("erase-reporter", money, "--reason", "Permintaan pelapor")
    desk.wait_types("AlertAcknowledged", "AlertHeld", "AlertFailed", "EscalationStepReached", "EscalationReminded",
                    "EscalationExhausted", "AreaAlertLevelChanged", "IncidentAssignmentOverdue", timeout=150)
    desk.wait_types("AuditSealed")  # the sealer seals the day


# ----------------------------------------------------------------------------- storing what the logs hold
def registered_types() -> dict[str, Any]:
    """Every event type, after importing every module of the contracts package."""
    import importlib
    import pkgutil

    import desk_shared.contracts as contracts
    from desk_shared.contracts.envelope import event_types

    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"{contracts.__name__}.{module.name}")
    return dict(event_types())


def changed_files() -> list[str]:
    """The files of shared code and services that differ from HEAD (others may be at work)."""
    return git("diff", "--name-only", "HEAD", "--", "shared/src", "services").splitlines()


def stored_from_log(log: list[Found], folder: Path, run_id: str, run: dict[str, Any], label: str | None,
                    keep: Callable[[str, int], bool]) -> list[str]:
    """The richest message of each type the log holds that `keep`s, stored unless its sample exists."""
    manifest = read_manifest(folder)
    written = []
    for event_type, found in sorted(by_type(log).items()):
        seq, subject, data = richest(found)
        if not keep(event_type, json.loads(data).get("schema_version", 1)):
            continue
        name = store(folder, manifest, data, {"run": run_id, "stream_sequence": seq, "subject": subject}, label)
        if name:
            written.append(name)
    if written:
        manifest.setdefault("runs", {})[run_id] = run
        write_manifest(folder, manifest)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desk_testing.stored_samples", description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="the samples folder")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (logs, the nats store)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("current", help="today's services: every registered type's current version")
    old = commands.add_parser("old", help="an old commit's services: the versions that code wrote")
    old.add_argument("--commit", required=True)
    old.add_argument("--label", help="stored as <Type>.v<N>.<label>.json, beside the version's first sample")
    old.add_argument("--only", action="append", default=[], help="only this type (repeatable)")
    args = parser.parse_args(argv)
    args.samples.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date().isoformat()
    with contextlib.ExitStack() as stack:
        home = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="desk-samples-")))
        home.mkdir(parents=True, exist_ok=True)
        if args.command == "old":
            commit = git("rev-parse", "--verify", f"{args.commit}^{{commit}}")
            only = set(args.only)
            run = {"commit": commit, "stored": today,
                   "how": f"python -m desk_testing.stored_samples old --commit {commit[:8]}"
                          f"{f' --label {args.label}' if args.label else ''}{''.join(f' --only {t}' for t in only)}: "
                          "that commit's intake, triage and notify (its tree from git archive) on a nats-server, "
                          "one report submitted over HTTP (run_old)"}
            written = stored_from_log(run_old(commit, home), args.samples, f"old-{commit[:8]}-{today}", run,
                                      args.label, lambda event_type, _: not only or event_type in only)
        else:
            registered = registered_types()
            commit = git("rev-parse", "HEAD")
            run = {"commit": commit, "stored": today, "changed_files": changed_files(),
                   "how": "python -m desk_testing.stored_samples current: the five services of the working tree "
                          "on a nats-server, worked through a compressed day (working_day)"}
            written = stored_from_log(run_current(home), args.samples, f"current-{commit[:8]}-{today}", run, None,
                                      lambda event_type, version: event_type in registered
                                      and version == registered[event_type].SCHEMA_VERSION)
            manifest = read_manifest(args.samples)
            stored = {(s["type"], s["version"]) for s in manifest["samples"].values()}
            missing = [t for t, cls in registered.items()
                       if (t, cls.SCHEMA_VERSION) not in stored and t not in manifest["not_written"]]
            if missing:
                print(f"no sample in the log of: {', '.join(sorted(missing))} (extend working_day)", file=sys.stderr)
    print("\n".join(f"stored {name}" for name in written) or "nothing new to store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
