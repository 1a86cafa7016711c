"""nats-server's users kept in step with the registry.

The roles' passwords (operator, auditor, each service) live in a file readable by its owner only,
with their bcrypt verifiers beside them, so the generated authorization is the same text for the
same registry. `follow` rewrites the authorization file whenever an agency key is issued or
revoked and tells nats-server to reload it (SIGHUP): a revoked key's NATS user is gone, and its
connections closed, within moments."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
from collections.abc import Iterable
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from desk_access.nats_authorization import ROLES, render, users
from desk_access.private_files import write_private
from desk_shared.access.keys import bcrypt_verifier
from desk_shared.access.registry import Registry, evolve
from desk_shared.contracts import subjects
from desk_shared.runtime.bus import connect
from desk_shared.runtime.history import Follower
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5


def role_passwords(path: Path, roles: Iterable[str] = ROLES) -> dict[str, dict[str, str]]:
    """{role: {"password", "bcrypt"}} from `path`, with any missing role added (and written back)."""
    kept: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    missing = [role for role in roles if role not in kept]
    for role in missing:
        password = secrets.token_urlsafe(24)
        kept[role] = {"password": password, "bcrypt": bcrypt_verifier(password)}
    if missing or not path.exists():
        write_private(path, json.dumps(kept, indent=1, sort_keys=True))
    return kept


def verifiers(passwords: dict[str, dict[str, str]]) -> dict[str, str]:
    return {role: entry["bcrypt"] for role, entry in passwords.items()}


def write_authorization(path: Path, registry: Registry, bus: BusSettings, role_verifiers: dict[str, str]) -> bool:
    """Write the authorization for `registry`; True if it changed."""
    text = render(users(registry, bus, role_verifiers))
    if path.exists() and path.read_text() == text:
        return False
    write_private(path, text)
    return True


def reload_server(pid_file: Path) -> None:
    """SIGHUP to the nats-server whose pid is in `pid_file`: it rereads its configuration."""
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.error("could not tell nats-server (pid file %s) to reload: %r", pid_file, exc)


async def follow(bus: BusSettings, output: Path, role_verifiers: dict[str, str], pid_file: Path | None,
                 stop: asyncio.Event) -> None:
    """Keep `output` equal to the authorization of the registry as the log grows, until `stop`."""
    nc = await connect(bus, "desk-access-nats-sync")
    try:
        js = nc.jetstream()
        while not await _stream_exists(js, bus.stream_name):  # the auditor's role creates nothing
            log.info("waiting for stream %s", bus.stream_name)
            await sleep_unless(stop, 1.0)
            if stop.is_set():
                return
        follower = Follower(js, bus.stream_name, subjects.AGENCY_EVENTS, Registry(), evolve)
        await follower.start()
        written = -1
        while not stop.is_set():
            if follower.position != written:
                written = follower.position
                if write_authorization(output, follower.state, bus, role_verifiers):
                    log.info("NATS users rewritten (registry at sequence %d)", written)
                    if pid_file:
                        reload_server(pid_file)
            await sleep_unless(stop, CHECK_SECONDS)
        await follower.stop()
    finally:
        await nc.close()


async def _stream_exists(js: JetStreamContext, name: str) -> bool:
    try:
        await js.stream_info(name)
        return True
    except NotFoundError:
        return False
