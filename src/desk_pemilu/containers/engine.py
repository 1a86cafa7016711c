"""The container engine on this machine: a Docker engine where one answers, else podman.

podman is run with `deploy/podman/containers.conf` (unless CONTAINERS_CONF says otherwise) and
`--network host` for builds, as machines without systemd need (DESIGN.md, "Containers on this
machine"); its compose tool is podman-compose, Docker's is `docker compose`."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
"""The repository: the images are built from it (deploy/ and the sources)."""
DEPLOY = ROOT / "deploy"


@dataclass(frozen=True)
class Engine:
    name: str
    """docker or podman"""
    env: dict[str, str] = field(default_factory=dict)
    """What every call of the engine needs in its environment."""

    @property
    def podman(self) -> bool:
        return self.name == "podman"

    def command(self, *args: str) -> list[str]:
        return [self.name, *args]

    def compose_command(self, *args: str) -> list[str]:
        if self.podman:
            return [str(Path(sys.executable).with_name("podman-compose")), *args]
        return ["docker", "compose", *args]

    def run(self, argv: list[str], *, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run an engine (or compose) command; raise with its output if it fails."""
        done = subprocess.run(argv, env=os.environ | self.env | (env or {}), text=True, timeout=timeout,
                              capture_output=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise EngineError(f"{' '.join(argv[:4])} … failed ({done.returncode}):\n"
                              f"{(done.stdout + done.stderr)[-4000:]}")
        return done

    def succeeds(self, *args: str, timeout: float = 600) -> bool:
        """Whether the engine command exits 0 (its output dropped)."""
        try:
            return subprocess.run(self.command(*args), env=os.environ | self.env, capture_output=True,
                                  timeout=timeout).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def answers(self) -> bool:
        return self.succeeds("info", timeout=20)


class EngineError(RuntimeError):
    """A container engine command failed."""


def podman_engine() -> Engine:
    return Engine("podman", {"CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF",
                                                               str(DEPLOY / "podman" / "containers.conf"))})


def find_engine() -> Engine | None:
    """The engine to use: DESK_CONTAINER_ENGINE (docker, podman or none) if set, else a Docker engine that
    answers, else podman if it works here; None when there is neither."""
    wanted = os.environ.get("DESK_CONTAINER_ENGINE", "")
    if wanted not in ("", "docker", "podman", "none"):
        raise EngineError(f"DESK_CONTAINER_ENGINE={wanted!r}: say docker, podman or none")
    candidates = {"": [Engine("docker"), podman_engine()], "docker": [Engine("docker")],
                  "podman": [podman_engine()], "none": []}[wanted]
    for engine in candidates:
        if shutil.which(engine.name) and engine.answers():
            return engine
    return None


def why_no_engine() -> str:
    if os.environ.get("DESK_CONTAINER_ENGINE") == "none":
        return "no container engine: DESK_CONTAINER_ENGINE=none"
    return ("no container engine here: neither a Docker engine answers (`docker info`) nor podman works "
            "(Debian: apt-get install podman runc debootstrap)")


@contextlib.contextmanager
def docker_api(engine: Engine, socket_dir: Path) -> Iterator[str]:
    """A Docker-compatible API for the Docker SDK (testcontainers): Docker's own, or podman's served on
    a socket in `socket_dir` while the block runs. Yields the DOCKER_HOST to use."""
    if not engine.podman:
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return
    socket = socket_dir / "podman.sock"
    url = f"unix://{socket}"
    service = subprocess.Popen(engine.command("system", "service", "--time=0", url), env=os.environ | engine.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not socket.exists():
            if service.poll() is not None or time.monotonic() > deadline:
                raise EngineError("podman's API service did not start (`podman system service`)")
            time.sleep(0.1)
        yield url
    finally:
        service.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.wait(10)
        if service.poll() is None:
            service.kill()
