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
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from desk_access.demo import demo_keys_kept
from desk_access.operations import Unreachable
from desk_pemilu.embedded_nats import EmbeddedNats, free_port, port_is_free
from desk_pemilu.processes import ServiceProcess, service_command, service_processes, stop_all
from desk_shared.runtime.settings import BusSettings

RESTART_DELAY_CAP_SECONDS = 30.0


def say(text: str) -> None:
    print(f"[desk] {text}", flush=True)


def pick_port(env_name: str, preferred: int) -> str:
    """The configured port, else the preferred one if free, else any free port."""
    if configured := os.environ.get(env_name):
        return configured
    return str(preferred if port_is_free(preferred) else free_port())


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
        if not os.environ.get("DESK_NATS_URL"):
            nats = EmbeddedNats(state_dir / "nats", int(pick_port("DESK_EMBEDDED_NATS_PORT", 14222)))
            nats.start(log_file=state_dir / "nats-server.log")
            env["DESK_NATS_URL"] = nats.url
        if not os.environ.get("DESK_PROJECTION_DATABASE_URL"):
            env["DESK_PROJECTION_DATABASE_URL"] = f"sqlite:///{state_dir / 'projection.db'}"
        env["DESK_INTAKE_PORT"] = pick_port("DESK_INTAKE_PORT", 8700)
        env["DESK_PROJECTION_PORT"] = pick_port("DESK_PROJECTION_PORT", 8701)
        if not os.environ.get("DESK_NOTIFY_CONTACTS_FILE"):
            inbox_port = pick_port("DESK_INBOX_PORT", 8702)
            contacts = state_dir / "contacts.toml"
            contacts.write_text("# Written by `desk up`: every liaison's alerts go to the local alert inbox.\n"
                                f'[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:{inbox_port}/alerts"\n')
            env["DESK_NOTIFY_CONTACTS_FILE"] = str(contacts)
            extra.append(ServiceProcess("inbox", service_command("desk_pemilu.inbox", "--port", inbox_port), {},
                                        own_group=True))  # Ctrl-C stops it after the services
        try:
            keys = demo_keys_kept(BusSettings(nats_url=env.get("DESK_NATS_URL") or os.environ["DESK_NATS_URL"]),
                                  state_dir / "demo-keys.json")
        except Unreachable as exc:
            say(f"cannot register the demo agencies: {exc}")
            return 1
        services = service_processes(env)
        processes = services + extra
        for p in processes:
            p.start()
        intake = f"http://127.0.0.1:{env['DESK_INTAKE_PORT']}"
        projection = f"http://127.0.0.1:{env['DESK_PROJECTION_PORT']}"
        if not (wait_until_serving(intake + "/health", processes)
                and wait_until_serving(projection + "/health", processes)):
            say("the services did not come up; see their output above")
            return 1
        banner(intake, projection, env, nats, extra, keys)
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


def banner(intake: str, projection: str, env: dict[str, str], nats: EmbeddedNats | None,
           extra: list[ServiceProcess], keys: dict[str, str]) -> None:
    lines = [
        "Desk Pemilu is running.",
        f"  intake API      {intake}      (docs {intake}/docs)  POST /v1/reports",
        f"  projection API  {projection}      (docs {projection}/docs)  GET /v1/incidents, /v1/situation",
        f"  NATS            {env.get('DESK_NATS_URL') or os.environ.get('DESK_NATS_URL')}"
        + (f"  (embedded, data in {nats.store_dir})" if nats else ""),
    ]
    if database := env.get("DESK_PROJECTION_DATABASE_URL"):
        lines.append(f"  read models     {database}")
    if extra:
        lines.append(f"  alert inbox     http://127.0.0.1:{extra[0].argv[-1]}  (prints every alert it receives)")
    lines += [f"demo agency key ({code}): {token}" for code, token in keys.items()]
    lines += ["Try:", f"  curl -s -X POST {intake}/v1/reports -H 'Content-Type: application/json' \\",
              f"    -H 'Authorization: Bearer {next(iter(keys.values()))}' \\",
              "    -d '{\"kecamatan\": \"11.13.01\", \"text\": \"Massa membawa parang mendatangi TPS 03, dua petugas"
              " KPPS luka-luka\"}'",
              f"  curl -s {projection}/v1/incidents",
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
    args = parser.parse_args(argv)
    if args.command == "up":
        sys.exit(up(args.state_dir.resolve()))


if __name__ == "__main__":
    main()
