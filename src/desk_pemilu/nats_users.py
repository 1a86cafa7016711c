"""The embedded nats-server with the desk's users and permissions.

The roles' passwords live in the state directory (owner-only); the authorization starts with the
roles alone and is kept equal to the registry by `desk-access nats-config --follow`, which
reloads the server on every change (an agency key issued or revoked)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desk_access.nats_authorization import AUDITOR
from desk_access.nats_sync import role_passwords, verifiers, write_authorization
from desk_pemilu.embedded_nats import EmbeddedNats
from desk_pemilu.processes import ServiceProcess, service_command
from desk_shared.access.registry import Registry
from desk_shared.runtime.settings import BusSettings

PASSWORDS_FILE = "nats-passwords.json"


@dataclass(frozen=True)
class NatsRoles:
    passwords: dict[str, dict[str, str]]
    file: Path

    def env(self, role: str) -> dict[str, str]:
        """The settings that make a process connect as `role`."""
        return {"DESK_NATS_USER": role, "DESK_NATS_PASSWORD": self.passwords[role]["password"]}

    def bus(self, url: str, role: str) -> BusSettings:
        return BusSettings(nats_url=url, nats_user=role, nats_password=self.passwords[role]["password"])


def secured_nats(state_dir: Path, port: int, sync_always: bool = True,
                 leaf_port: int | None = None) -> tuple[EmbeddedNats, NatsRoles]:
    """An embedded server (not started) that admits only the desk's users, in the desk's JetStream domain
    (leaf nodes, the auditors' mirror, connect on `leaf_port`)."""
    passwords_file = state_dir / PASSWORDS_FILE
    roles = NatsRoles(role_passwords(passwords_file), passwords_file)
    authorization = state_dir / "nats-authorization.conf"
    # the roles as they are now (a new service's user too); agencies' users follow within a second
    write_authorization(authorization, Registry(), BusSettings(), verifiers(roles.passwords))
    return EmbeddedNats(state_dir / "nats", port, sync_always, authorization=authorization,
                        domain=BusSettings().jetstream_domain, leaf_port=leaf_port), roles


def users_sync_process(nats: EmbeddedNats, roles: NatsRoles, env: dict[str, str],
                       log_path: Path | None = None) -> ServiceProcess:
    """`desk-access nats-config --follow` for `nats`: it reads the log as the auditor does."""
    assert nats.authorization
    argv = service_command("desk_access", "nats-config", "--passwords", str(roles.file),
                           "--output", str(nats.authorization), "--reload-pid-file", str(nats.pid_file), "--follow")
    return ServiceProcess("nats-users", argv, env | roles.env(AUDITOR), log_path, own_group=True)
