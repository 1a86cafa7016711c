"""The whole desk in containers (deploy/compose.yaml) through the engine's compose tool.

Everything the compose file asks of its environment comes from `env`: the secrets and NATS users,
the image base and the published ports (127.0.0.1 only). Replicas are the compose services `intake-1`, `intake-2`
and so on, found again by compose's labels."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from desk_access.nats_sync import role_passwords, verifiers, write_authorization
from desk_access.private_files import write_private
from desk_audit.notes import LOG_KEY
from desk_pemilu.containers.engine import DEPLOY, Engine
from desk_pemilu.credentials import key_kept
from desk_pemilu.processes import answers
from desk_shared.access.registry import Registry
from desk_shared.runtime.settings import BusSettings

COMPOSE_FILE = DEPLOY / "compose.yaml"
PORTS = {"DESK_NATS_PORT": 14222, "DESK_NATS_PORT_2": 14223, "DESK_NATS_PORT_3": 14224,
         "DESK_POSTGRES_PORT": 15432, "DESK_INTAKE_PORT": 8700, "DESK_INTAKE_PORT_2": 8710,
         "DESK_PROJECTION_PORT": 8701, "DESK_INBOX_PORT": 8702, "DESK_ACCESS_PORT": 8703,
         "DESK_TRIAGE_PORT": 8704, "DESK_TRIAGE_PORT_2": 8714, "DESK_NOTIFY_PORT": 8705,
         "DESK_NOTIFY_PORT_2": 8715, "DESK_AUDIT_PORT": 8706}
"""The host ports the compose file publishes, by the variable that moves each, and their defaults."""
NATS_PORTS = ("DESK_NATS_PORT", "DESK_NATS_PORT_2", "DESK_NATS_PORT_3")
AUDIT_KEY_FILE = "audit-log.key"


def secrets_kept(state: Path) -> dict[str, str]:
    """What the compose file needs besides ports, made once and kept in `state` (owner-only): the
    PostgreSQL password, the acknowledgement-link secret, the log's signing key, and the desk's NATS
    users: each role's password and the authorization every node includes (roles only: agencies reach
    the container desk over HTTP, since the registry's NATS users are kept current only beside an
    embedded server)."""
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    path = state / "secrets.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    made = {name: kept.get(name) or secrets.token_urlsafe(32) for name in ("POSTGRES_PASSWORD", "DESK_LINK_SECRET")}
    if made != kept:
        write_private(path, json.dumps(made, indent=1))
    passwords = role_passwords(state / "nats-passwords.json")
    authorization = state / "nats-authorization.conf"
    write_authorization(authorization, Registry(), BusSettings(), verifiers(passwords))
    authorization.chmod(0o644)  # read by the nodes' own user; the directory is the owner's only
    signing_key = state / AUDIT_KEY_FILE
    key_kept(signing_key, "desk-pemilu/containers", LOG_KEY)
    signing_key.chmod(0o644)  # read by the sealer's own user, likewise
    return made | {"DESK_NATS_AUTHORIZATION": str(authorization), "DESK_AUDIT_KEY_FILE": str(signing_key)} | {
        f"DESK_NATS_PASSWORD_{role.upper()}": entry["password"] for role, entry in passwords.items()}


@dataclass
class ComposeDesk:
    engine: Engine
    env: dict[str, str] = field(default_factory=dict)
    """The compose file's variables (over the process environment)."""
    project: str = "desk-pemilu"

    def compose(self, *args: str) -> str:
        argv = self.engine.compose_command("-f", str(COMPOSE_FILE), "-p", self.project, *args)
        return self.engine.run(argv, env=self.env, timeout=900).stdout

    def up(self) -> None:
        self.compose("up", "-d")

    def down(self, volumes: bool = False) -> None:
        self.compose("down", *(["--volumes"] if volumes else []))

    def port(self, variable: str) -> int:
        return int(self.env.get(variable) or os.environ.get(variable) or PORTS[variable])

    def url(self, variable: str) -> str:
        return f"http://127.0.0.1:{self.port(variable)}"

    def bus(self, role: str, ports: tuple[str, ...] = NATS_PORTS) -> BusSettings:
        """Settings to reach the desk's NATS (at `ports`) from this machine as `role` (operator, auditor)."""
        return BusSettings(nats_url=",".join(f"nats://127.0.0.1:{self.port(name)}" for name in ports),
                           stream_replicas=3, nats_user=role,
                           nats_password=self.env[f"DESK_NATS_PASSWORD_{role.upper()}"])

    def containers(self, service: str) -> list[str]:
        """The ids of the service's containers (running or not)."""
        found = self.engine.run(self.engine.command(
            "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
            "--filter", f"label=com.docker.compose.service={service}")).stdout
        return found.split()

    def kill(self, service: str) -> None:
        """SIGKILL the service's container: no clean shutdown, as in a crash or a lost machine."""
        for container in self.containers(service):
            self.engine.run(self.engine.command("kill", "--signal", "KILL", container))

    def inspect(self, service: str, template: str) -> list[str]:
        """`template` (Go template of `inspect`) for each of the service's containers."""
        return [self.engine.run(self.engine.command("inspect", "--format", template, c)).stdout.strip()
                for c in self.containers(service)]

    def running(self, service: str) -> list[bool]:
        return [state == "true" for state in self.inspect(service, "{{.State.Running}}")]

    def healthy(self, service: str) -> bool:
        """The image's own health check passes in each of the service's containers: run now (podman
        schedules none without systemd), or Docker's last scheduled result."""
        if not self.engine.podman:
            statuses = self.inspect(service, "{{.State.Health.Status}}")
            return bool(statuses) and all(status == "healthy" for status in statuses)
        containers = self.containers(service)
        return bool(containers) and all(self.engine.succeeds("healthcheck", "run", c) for c in containers)

    def user(self, service: str) -> list[str]:
        """The uid each of the service's containers runs as."""
        return [self.engine.run(self.engine.command("exec", c, "id", "-u")).stdout.strip()
                for c in self.containers(service)]

    def logs(self, service: str, tail: int = 40) -> str:
        shown = [self.engine.run(self.engine.command("logs", "--tail", str(tail), c)) for c in self.containers(service)]
        return "\n".join(done.stdout + done.stderr for done in shown)

    def wait_healthy(self, variables: list[str], timeout: float = 180) -> list[str]:
        """Poll the /health of the services published at `variables`; the ones still not healthy."""
        waiting = list(variables)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            waiting = [v for v in waiting if not answers(self.url(v) + "/health", timeout=3)]
            time.sleep(1 if waiting else 0)
        return waiting
