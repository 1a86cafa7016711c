"""Benchmark: how long each service's image takes from `run` to a healthy `/health`, against the same
service started as a plain process on this machine (the baseline, measured in the same run).

    .venv/bin/python -m bench.containers [--rounds 3]

Both talk to one embedded nats-server; the containers use the host's network so that only the
container's own start (the engine, the image's filesystem, the venv's imports) differs. The images are
built first if they are missing or stale (the build is not timed)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import embedded_nats, machine
from desk_pemilu.containers.engine import Engine, find_engine, why_no_engine
from desk_pemilu.containers.images import base_image, build_images, image
from desk_pemilu.embedded_nats import free_port
from desk_pemilu.processes import SERVICES, ServiceProcess, answers, service_command

MEASURED = ("intake", "triage", "projection", "notify", "access")
"""The sealer is left out: it needs the desk's signing key."""


def settings(name: str, port: int, nats_url: str, home: str) -> dict[str, str]:
    own = {"projection": {"DESK_PROJECTION_DATABASE_URL": f"sqlite:///{home}/projection-{port}.db"},
           "notify": {"DESK_NOTIFY_CONTACTS_FILE": f"{home}/contacts.toml", "DESK_NOTIFY_LINK_SECRET": "x" * 32}}
    return {"DESK_NATS_URL": nats_url, f"DESK_{name.upper()}_PORT": str(port), "DESK_LOG_LEVEL": "WARNING",
            **own.get(name, {})}


def until_healthy(port: int, started: float, timeout: float = 60) -> float:
    while not answers(f"http://127.0.0.1:{port}/health"):
        if time.monotonic() - started > timeout:
            raise SystemExit(f"nothing healthy on port {port} after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def as_process(name: str, nats_url: str, home: str) -> float:
    port = free_port()
    process = ServiceProcess(name, service_command(*SERVICES[name]), settings(name, port, nats_url, home),
                             Path(home) / f"{name}.log")
    started = time.monotonic()
    process.start()
    try:
        return until_healthy(port, started)
    finally:
        process.stop(10)


def as_container(engine: Engine, name: str, nats_url: str, home: str) -> float:
    port = free_port()
    env = settings(name, port, nats_url, home) | {f"DESK_{name.upper()}_HOST": "127.0.0.1"}
    if name == "projection":
        env["DESK_PROJECTION_DATABASE_URL"] = f"sqlite:////tmp/projection-{port}.db"
    argv = engine.command("run", "-d", "--rm", "--network", "host", "-v", f"{home}:{home}:ro")
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    started = time.monotonic()
    container = engine.run([*argv, image(name)]).stdout.strip()
    try:
        return until_healthy(port, started)
    finally:
        engine.run(engine.command("rm", "-f", container))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    engine = find_engine()
    if engine is None:
        raise SystemExit(why_no_engine())
    build_images(engine, base_image(engine), MEASURED)
    print(f"machine: {machine()}; engine: {engine.name}; median of {rounds} starts each")
    print(f"{'service':<12}{'process (baseline)':>20}{'container':>12}{'ratio':>8}")
    with embedded_nats(sync_always=False) as bus, tempfile.TemporaryDirectory(prefix="desk-bench-") as home:
        Path(home, "contacts.toml").write_text('[[contact]]\nmatch = "*"\nwebhook = "http://127.0.0.1:9/alerts"\n')
        Path(home).chmod(0o755)
        for name in MEASURED:
            process = statistics.median(as_process(name, bus.nats_url, home) for _ in range(rounds))
            container = statistics.median(as_container(engine, name, bus.nats_url, home) for _ in range(rounds))
            print(f"{name:<12}{process:>18.2f} s{container:>10.2f} s{container / process:>8.2f}")


if __name__ == "__main__":
    main()
