"""`desk-pemilu up`: the whole system on one machine, for a newcomer or a demo.

With no `DESK_NATS_URL` it starts an embedded nats-server (JetStream, data in
`.desk/nats`, fsync on every write); with no `DESK_PROJECTION_DATABASE_URL` the read
models go to `.desk/projection.db`; with no `DESK_NOTIFY_CONTACTS_FILE` every liaison's
alerts go to a local alert inbox that prints them. The four services run as separate
processes; a crashed one is restarted (later and later while it keeps crashing, never taking
the others down). Ctrl-C stops the services first (each lets its work in flight finish or
leaves it unacked for later), then the alert inbox, then NATS."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from desk_access.__main__ import main as access_main
from desk_access.demo import demo_keys_kept, demo_people_kept
from desk_access.nats_authorization import AUDITOR, OPERATOR
from desk_access.operations import Unreachable
from desk_access.private_files import write_private
from desk_audit.__main__ import main as audit_main
from desk_audit.notes import COSIGNATURE_KEY, LOG_KEY, SigningKey
from desk_audit.settings import AuditSettings
from desk_pemilu.containers.cli import containers_main
from desk_pemilu.credentials import credential_lines, key_kept
from desk_pemilu.embedded_nats import EmbeddedNats, free_port, port_is_free
from desk_pemilu.nats_users import PASSWORDS_FILE, NatsRoles, secured_nats, users_sync_process
from desk_pemilu.processes import ServiceProcess, service_command, service_processes, stop_all
from desk_shared.runtime.settings import BusSettings

RESTART_DELAY_CAP_SECONDS = 30.0
NATS_URL_FILE = "nats-url"
"""Where `up` notes its embedded server's address, for `access` to find it."""


def say(text: str) -> None:
    print(f"[desk] {text}", flush=True)


def pick_port(env_name: str, preferred: int) -> str:
    """The configured port, else the preferred one if free, else any free port."""
    if configured := os.environ.get(env_name):
        return configured
    return str(preferred if port_is_free(preferred) else free_port())


LINK_SECRET_FILE = "notify-link-secret"
AUDIT_KEY_FILE, WITNESS_KEY_FILE = "audit-log.key", "audit-witness.key"
"""The demo desk's sealing key and its demo witness's key (a real witness runs at another agency)."""
WITNESSES_FILE = "audit-witnesses.json"
"""The demo witness's address and public key, for `./desk audit`."""
DEMO_REGENCY = "11.13"
"""Kabupaten Gayo Lues: the demo agencies' regency, every kecamatan of it on the board."""


def link_secret_kept(path: Path) -> str:
    """The secret that signs acknowledgement links, made once per state directory (links sent
    before a restart keep working)."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    write_private(path, secret)
    return secret


def audit_settings(state_dir: Path, env: dict[str, str], extra: list[ServiceProcess]) -> str:
    """The sealer's key and witnesses; unless configured, a key of the demo desk and a demo witness
    (a process of its own, as another agency's would be). Returns the log's public key."""
    if configured := os.environ.get("DESK_AUDIT_SIGNING_KEY_FILE"):
        return SigningKey.parse(Path(configured).read_text()).verifier.text()
    log_key = key_kept(state_dir / AUDIT_KEY_FILE, "desk-pemilu/demo", LOG_KEY)
    env["DESK_AUDIT_SIGNING_KEY_FILE"] = str(state_dir / AUDIT_KEY_FILE)
    env["DESK_AUDIT_PORT"] = pick_port("DESK_AUDIT_PORT", 8706)
    if not os.environ.get("DESK_AUDIT_WITNESSES"):
        witness = key_kept(state_dir / WITNESS_KEY_FILE, "saksi-demo", COSIGNATURE_KEY)
        port = pick_port("DESK_AUDIT_WITNESS_PORT", 8707)
        env["DESK_AUDIT_WITNESSES"] = json.dumps([{"url": f"http://127.0.0.1:{port}",
                                                   "key": witness.verifier.text()}])
        (state_dir / WITNESSES_FILE).write_text(env["DESK_AUDIT_WITNESSES"])
        extra.append(ServiceProcess("witness", service_command(
            "desk_audit", "witness", "--key", str(state_dir / WITNESS_KEY_FILE), "--state",
            str(state_dir / "audit-witness-state.json"), "--log-key", log_key.verifier.text(), "--origin",
            os.environ.get("DESK_AUDIT_ORIGIN", AuditSettings().origin), "--port", port), {}))
    return log_key.verifier.text()


def wait_until_serving(url: str, processes: list[ServiceProcess], timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # it answers
        except OSError:
            if not any(p.alive for p in processes):
                return False
            time.sleep(0.3)
    return False


class Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def up(state_dir: Path) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    nats: EmbeddedNats | None = None
    extra: list[ServiceProcess] = []
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    services: list[ServiceProcess] = []
    try:
        roles: NatsRoles | None = None
        if not os.environ.get("DESK_NATS_URL"):
            nats, roles = secured_nats(state_dir, int(pick_port("DESK_EMBEDDED_NATS_PORT", 14222)),
                                       leaf_port=int(pick_port("DESK_EMBEDDED_NATS_LEAF_PORT", 7422)))
            nats.start(log_file=state_dir / "nats-server.log")
            env["DESK_NATS_URL"] = nats.url
            (state_dir / NATS_URL_FILE).write_text(nats.url)
            extra.append(users_sync_process(nats, roles, env))
        if not os.environ.get("DESK_PROJECTION_DATABASE_URL"):
            env["DESK_PROJECTION_DATABASE_URL"] = f"sqlite:///{state_dir / 'projection.db'}"
        env["DESK_INTAKE_PORT"] = pick_port("DESK_INTAKE_PORT", 8700)
        env["DESK_PROJECTION_PORT"] = pick_port("DESK_PROJECTION_PORT", 8701)
        env["DESK_PROJECTION_REGION_REGENCIES"] = os.environ.get("DESK_PROJECTION_REGION_REGENCIES", DEMO_REGENCY)
        env["DESK_ACCESS_PORT"] = pick_port("DESK_ACCESS_PORT", 8703)
        env["DESK_TRIAGE_PORT"] = pick_port("DESK_TRIAGE_PORT", 8704)
        env["DESK_NOTIFY_PORT"] = pick_port("DESK_NOTIFY_PORT", 8705)
        if not os.environ.get("DESK_NOTIFY_LINK_SECRET"):
            env["DESK_NOTIFY_LINK_SECRET"] = link_secret_kept(state_dir / LINK_SECRET_FILE)
        inbox_port = None
        if not os.environ.get("DESK_NOTIFY_CONTACTS_FILE"):
            inbox_port = pick_port("DESK_INBOX_PORT", 8702)
            contacts = state_dir / "contacts.toml"
            contacts.write_text("# Written by `desk up`: every liaison's alerts go to the local alert inbox.\n"
                                f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{inbox_port}/alerts"\n')
            env["DESK_NOTIFY_CONTACTS_FILE"] = str(contacts)
            extra.append(ServiceProcess("inbox", service_command("desk_pemilu.inbox", "--port", inbox_port), {},
                                        own_group=True))  # Ctrl-C stops it after the services
        log_key = audit_settings(state_dir, env, extra)
        nats_url = env.get("DESK_NATS_URL") or os.environ["DESK_NATS_URL"]
        operator = roles.bus(nats_url, OPERATOR) if roles else BusSettings(nats_url=nats_url)
        try:
            keys = demo_keys_kept(operator, state_dir / "demo-keys.json")
            people = demo_people_kept(operator, state_dir / "demo-people.json")
        except Unreachable as exc:
            say(f"cannot register the demo agencies: {exc}")
            return 1
        services = service_processes(env, own_env=roles.env if roles else None)
        processes = services + extra
        for p in processes:
            p.start()
        intake = f"http://127.0.0.1:{env['DESK_INTAKE_PORT']}"
        projection = f"http://127.0.0.1:{env['DESK_PROJECTION_PORT']}"
        access = f"http://127.0.0.1:{env['DESK_ACCESS_PORT']}"
        triage = f"http://127.0.0.1:{env['DESK_TRIAGE_PORT']}"
        notify = f"http://127.0.0.1:{env['DESK_NOTIFY_PORT']}"
        audit = f"http://127.0.0.1:{env.get('DESK_AUDIT_PORT') or AuditSettings().port}"
        # triage is not waited for: a triage that cannot start (a broken rules file) must not hide the rest
        if not all(wait_until_serving(url + "/health", processes) for url in (intake, projection, access)):
            say("the services did not come up; see their output above")
            return 1
        banner(Addresses(intake, projection, access, triage, notify, nats_url, inbox_port,
                         env.get("DESK_PROJECTION_DATABASE_URL") or os.environ["DESK_PROJECTION_DATABASE_URL"],
                         audit, log_key), nats, keys, people)
        supervise(processes)
    except Stop as why:
        say(f"{why}: stopping")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(services)  # first: no alert recorded as failed because its inbox was already gone
        stop_all(extra)
        if nats:
            nats.stop()
        say("stopped")
    return 0


@dataclass(frozen=True)
class Addresses:
    intake: str
    projection: str
    access: str
    triage: str
    notify: str
    nats: str
    inbox_port: str | None
    database: str
    audit: str
    log_key: str


def banner(at: Addresses, nats: EmbeddedNats | None, keys: dict[str, str],
           people: dict[str, dict[str, str]]) -> None:
    lines = [
        "Desk Pemilu is running.",
        f"  intake API      {at.intake}      (docs {at.intake}/docs)  POST /v1/reports (agency key)",
        f"  projection API  {at.projection}      (docs {at.projection}/docs)  GET /v1/incidents, /v1/situation "
        "(person token)",
        f"  situation board {at.projection}/papan  (in a browser: sign in at {at.projection}/masuk with a demo "
        "login below)",
        f"  access API      {at.access}      (docs {at.access}/docs)  POST /v1/login, /v1/tokens",
        f"  triage API      {at.triage}      (docs {at.triage}/docs)  POST /v1/incidents/{{id}}/urgency "
        "(desk officer: answer a 'cek segera' check)",
        f"  notify API      {at.notify}      (docs {at.notify}/docs)  POST /v1/incidents/{{id}}/acknowledgement "
        "(liaison: stop an escalation; alerts carry a link too)",
        f"  NATS            {at.nats}"
        + (f"  (embedded, data in {nats.store_dir}; users and passwords in {nats.store_dir.parent / PASSWORDS_FILE},"
           " `./desk access list` shows who may do what)" if nats else ""),
        f"  read models     {at.database}",
        f"  audit API       {at.audit}      (docs {at.audit}/docs)  GET /v1/key, /v1/checkpoint: the log is sealed "
        "every 10 s and cosigned by a witness; `./desk audit verify` checks it",
        f"  log public key  {at.log_key}",
    ]
    if at.inbox_port:
        lines.append(f"  alert inbox     http://127.0.0.1:{at.inbox_port}  (prints every alert it receives)")
    lines += credential_lines(keys, people)
    leader = next(p["token"] for p in people.values() if p["role"] == "leader")
    lines += ["Try:", f"  curl -s -X POST {at.intake}/v1/reports -H 'Content-Type: application/json' \\",
              f"    -H 'Authorization: Bearer {next(iter(keys.values()))}' \\",
              "    -d '{\"kecamatan\": \"11.13.01\", \"text\": \"Massa membawa parang mendatangi TPS 03, dua petugas"
              " KPPS luka-luka\"}'",
              f"  curl -s {at.projection}/v1/incidents -H 'Authorization: Bearer {leader}'",
              "Press Ctrl-C to stop."]
    print("\n".join(lines), flush=True)


def restart_delay(recent_exits: int) -> float:
    """No wait for the first few exits in a minute, then 1, 2, 4 ... seconds, at most 30."""
    return 0.0 if recent_exits <= 3 else min(2.0 ** (recent_exits - 4), RESTART_DELAY_CAP_SECONDS)


def supervise(processes: list[ServiceProcess]) -> None:
    """Restart a service that died, backing off while it keeps dying; the others keep running."""
    exits: dict[str, list[float]] = {p.name: [] for p in processes}
    due: dict[str, float] = {}
    while True:
        time.sleep(0.5)
        now = time.monotonic()
        for p in processes:
            if p.alive:
                continue
            if p.name in due:
                if now >= due[p.name]:
                    del due[p.name]
                    p.start()
                continue
            exits[p.name] = [t for t in exits[p.name] if now - t < 60] + [now]
            delay = restart_delay(len(exits[p.name]))
            code = p.process.returncode if p.process else None
            say(f"{p.name} exited with code {code}; restarting" + (f" in {delay:.0f} s (it keeps exiting)"
                                                                  if delay else ""))
            due[p.name] = now + delay


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="desk-pemilu", description="Desk Pemilu on one machine.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the whole system; Ctrl-C stops it")
    start.add_argument("--state-dir", type=Path, default=Path(os.environ.get("DESK_STATE_DIR", ".desk")),
                       help="where the embedded NATS data and the SQLite read models live (default .desk)")
    access = commands.add_parser("access", add_help=False,
                                 help="desk-access (agencies, keys, NATS users) as the operator of `up`'s NATS")
    access.add_argument("arguments", nargs=argparse.REMAINDER)
    audit = commands.add_parser("audit", add_help=False, help="desk-audit (verify, export, prove, replay) as the "
                                                              "read-only auditor of `up`'s NATS")
    audit.add_argument("arguments", nargs=argparse.REMAINDER)
    containers = commands.add_parser("containers", add_help=False,
                                     help="the whole desk in containers (Docker or podman): build, up, down")
    containers.add_argument("arguments", nargs=argparse.REMAINDER)
    args, rest = parser.parse_known_args(argv)
    if args.command == "up":
        sys.exit(up(args.state_dir.resolve()))
    state_dir = Path(os.environ.get("DESK_STATE_DIR", ".desk")).resolve()
    if args.command == "containers":
        sys.exit(containers_main(args.arguments + rest, state_dir))
    if args.command == "audit":
        sys.exit(audit_as_auditor(state_dir, args.arguments + rest))
    sys.exit(operate(state_dir, args.arguments + rest))


def operate(state_dir: Path, arguments: list[str]) -> int:
    """`desk-access ARGUMENTS` against the embedded NATS of `up` (its address and the operator's password
    from the state directory), unless DESK_NATS_URL says where NATS is."""
    if not os.environ.get("DESK_NATS_URL") and not as_role(state_dir, OPERATOR):
        return 1
    return access_main(arguments)


def audit_as_auditor(state_dir: Path, arguments: list[str]) -> int:
    """`desk-audit ARGUMENTS` as the read-only auditor of `up`'s embedded NATS, checking seals against the
    demo desk's public key and its witness's (unless DESK_NATS_URL / DESK_AUDIT_LOG_KEY say otherwise)."""
    if not os.environ.get("DESK_NATS_URL") and not as_role(state_dir, AUDITOR):
        return 1
    if not os.environ.get("DESK_AUDIT_LOG_KEY") and (state_dir / AUDIT_KEY_FILE).exists():
        os.environ["DESK_AUDIT_LOG_KEY"] = SigningKey.parse((state_dir / AUDIT_KEY_FILE).read_text()).verifier.text()
    if not os.environ.get("DESK_AUDIT_WITNESSES") and (state_dir / WITNESSES_FILE).exists():
        os.environ["DESK_AUDIT_WITNESSES"] = (state_dir / WITNESSES_FILE).read_text()
    return audit_main(arguments)


def as_role(state_dir: Path, role: str) -> bool:
    """Connect as `role` of the embedded NATS of `up` (its address and passwords from the state directory)."""
    url_file, passwords = state_dir / NATS_URL_FILE, state_dir / PASSWORDS_FILE
    if not (url_file.exists() and passwords.exists()):
        say(f"no embedded NATS in {state_dir}: start the desk with `./desk up` first, or set DESK_NATS_URL")
        return False
    roles = NatsRoles(json.loads(passwords.read_text()), passwords)
    os.environ.update({"DESK_NATS_URL": url_file.read_text().strip(), **roles.env(role)})
    return True


if __name__ == "__main__":
    main()
