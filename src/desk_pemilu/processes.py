"""Service processes: started with their settings in the environment, stopped cleanly.

Shared by the launcher (`desk up`) and the cross-service tests, which run each service as
its own OS process exactly as a container would."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the launcher dies, so nothing is left orphaned."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


SERVICES: dict[str, tuple[str, ...]] = {
    "intake": ("desk_intake",), "triage": ("desk_triage",), "projection": ("desk_projection",),
    "notify": ("desk_notify",), "access": ("desk_access", "serve"), "audit": ("desk_audit", "seal")}
"""Each service of the system and the module (and arguments) that runs it."""
NEEDS = {"audit": "DESK_AUDIT_SIGNING_KEY_FILE"}
"""A service that runs only where its setting is given (the sealer needs the desk's signing key)."""


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether `url` (a service's /health) answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def service_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def service_processes(env: dict[str, str], log_dir: Path | None = None,
                      own_env: Callable[[str], dict[str, str]] | None = None) -> list[ServiceProcess]:
    """The services, each its own process, configured through `env` and `own_env(name)` (its NATS
    user, for one)."""
    return [ServiceProcess(name, service_command(*command), env | (own_env(name) if own_env else {}),
                           log_dir / f"{name}.log" if log_dir else None)
            for name, command in SERVICES.items() if name not in NEEDS or NEEDS[name] in env | os.environ]


def stop_all(processes: list[ServiceProcess], timeout: float = 10.0) -> None:
    """SIGTERM to every process at once, then SIGKILL whatever is left after `timeout`."""
    for p in processes:
        p.terminate()
    deadline = time.monotonic() + timeout
    for p in processes:
        p.stop(max(deadline - time.monotonic(), 0.1))


class ServiceProcess:
    """One service. Output goes to `log_path`, or to our stdout with a `[name]` prefix."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path | None = None,
                 own_group: bool = False) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.own_group = own_group
        """In a process group of its own, a terminal's Ctrl-C does not reach it: it is stopped when told."""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        env = os.environ | self.env | {"PYTHONUNBUFFERED": "1"}
        if self.log_path:
            with open(self.log_path, "ab") as out:
                self.process = subprocess.Popen(self.argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
                                                process_group=0 if self.own_group else None)
        else:
            self.process = subprocess.Popen(self.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
                                            process_group=0 if self.own_group else None)
            assert self.process.stdout
            threading.Thread(target=_relay, args=(self.process.stdout, f"[{self.name}] "), daemon=True).start()
        return self

    def terminate(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if not self.process:
            return None
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """kill -9: no chance to finish anything (crash tests)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


def _relay(stream: IO[bytes], prefix: str) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()
