"""The container files agree with the code, without an engine: every service has an image and an entry,
the compose desk is the one the README describes, and every variable it reads is one we document."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from desk_pemilu.containers.desk import COMPOSE_FILE, PORTS
from desk_pemilu.containers.engine import DEPLOY, ROOT, find_engine, why_no_engine
from desk_pemilu.containers.images import IMAGES, debian_mirror
from desk_pemilu.processes import SERVICES

COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SECRETS_AND_PATHS = {"POSTGRES_PASSWORD", "DESK_LINK_SECRET", "DESK_IMAGE_BASE", "DESK_CONTACTS_FILE",
                     "DESK_NOTIFY_URL", "DESK_REGION_REGENCIES", "DESK_AUDIT_KEY_FILE", "DESK_AUDIT_WITNESSES",
                     "DESK_NATS_AUTHORIZATION"}
NATS_PASSWORDS = {f"DESK_NATS_PASSWORD_{service.upper()}" for service in SERVICES}
"""Each service's own NATS user (`DESK_NATS_PASSWORD_<ROLE>` in the README)."""


def test_every_service_is_built_from_the_one_dockerfile_and_started_by_its_entry() -> None:
    built = {s["build"]["args"]["SERVICE"] for s in COMPOSE["services"].values()
             if s.get("build", {}).get("dockerfile") == "deploy/Dockerfile"}
    assert built == set(SERVICES) == {name for name, path in IMAGES.items() if path == DEPLOY / "Dockerfile"}
    entry = (DEPLOY / "service-command").read_text()
    assert set(re.findall(r"^  (\w+)\) ", entry, re.MULTILINE)) == set(SERVICES)
    refused = subprocess.run(["sh", str(DEPLOY / "service-command")], capture_output=True, text=True,
                             env={"DESK_SERVICE": "nope", "PATH": "/usr/bin:/bin"})
    assert refused.returncode == 2 and "unknown service: nope" in refused.stderr


def test_the_compose_desk_has_a_nats_cluster_and_replicas_and_publishes_only_on_loopback() -> None:
    services = COMPOSE["services"]
    for replicated in ("intake", "triage", "notify"):
        assert {f"{replicated}-1", f"{replicated}-2"} <= set(services)
    nodes = [name for name, s in services.items() if s.get("image", "").endswith("/nats")]
    assert nodes == ["n1", "n2", "n3"]
    assert all(s["command"] == ["-c", "/etc/nats/cluster-node.conf"] for s in (services[n] for n in nodes))
    cluster = (DEPLOY / "nats" / "cluster-node.conf").read_text()
    assert "sync_interval: always" in cluster and all(f"nats-route://{n}:6222" in cluster for n in nodes)
    assert services["intake-1"]["environment"]["DESK_STREAM_REPLICAS"] == "3"
    assert 'include "authorization.conf"' in cluster  # only the desk's users get in
    users = {name: s["environment"].get("DESK_NATS_USER") for name, s in services.items() if "build" in s
             and s["build"]["dockerfile"] == "deploy/Dockerfile"}
    assert users == {name: s["build"]["args"]["SERVICE"] for name, s in services.items() if name in users}
    published = [port for s in services.values() for port in s.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)


def test_every_variable_the_compose_file_reads_is_documented() -> None:
    read = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert read == set(PORTS) | SECRETS_AND_PATHS | NATS_PASSWORDS
    readme = (ROOT / "README.md").read_text()
    assert [v for v in sorted(SECRETS_AND_PATHS - {"DESK_AUDIT_WITNESSES"}) if v not in readme] == []
    assert "DESK_NATS_PASSWORD_<ROLE>" in readme


def test_without_an_engine_the_reason_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_CONTAINER_ENGINE", "none")
    assert find_engine() is None
    assert why_no_engine() == "no container engine: DESK_CONTAINER_ENGINE=none"


def test_the_debian_mirror_is_the_one_apt_uses_unless_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    one_line = tmp_path / "sources.list"
    one_line.write_text("# deb http://old.example/debian bookworm main\n"
                        "deb [arch=amd64] http://a.example/debian bookworm main\n")
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\nURIs: http://b.example/debian\nSuites: bookworm\n")
    security = tmp_path / "security.sources"
    security.write_text("Types: deb\nURIs: http://b.example/debian-security\n")
    assert debian_mirror([tmp_path / "missing", one_line, deb822]) == "http://a.example/debian"
    assert debian_mirror([security, deb822]) == "http://b.example/debian"
    assert debian_mirror([security]) == "http://deb.debian.org/debian"
    monkeypatch.setenv("DESK_DEBIAN_MIRROR", "http://mirror.example/debian")
    assert debian_mirror([deb822]) == "http://mirror.example/debian"
