"""desk-access as the operator runs it, a process against a real nats-server: agencies and keys
kept as events, the key shown once and never stored, refusals append nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from desk_pemilu.embedded_nats import free_port
from desk_shared.access import keys
from desk_shared.access.registry import Agency, Denied, authenticate, rebuild
from desk_shared.contracts.agencies import AgencyRegistered
from desk_shared.contracts.envelope import decode_event
from desk_shared.runtime.bus import connect
from desk_shared.runtime.settings import BusSettings
from desk_testing.fixtures import bus_env, read_stream

pytestmark = pytest.mark.system


def desk_access(bus: BusSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desk_access", "--operator", "ops-1", *args], env=bus_env(bus),
                          capture_output=True, text=True, timeout=60)


def token_in(output: str) -> str:
    found = [word for word in output.split() if keys.parse(word)]
    assert len(found) == 1, output
    return found[0]


def test_agencies_and_keys_are_events_and_the_key_is_shown_once(bus: BusSettings) -> None:
    assert desk_access(bus, "register", "bawaslu", "--name", "Bawaslu Kabupaten Gayo Lues", "--kind", "bawaslu",
                       "--regency", "11.13").returncode == 0
    assert desk_access(bus, "register", "camat-blangkejeren", "--name", "Kantor Camat Blangkejeren",
                       "--kind", "kecamatan", "--kecamatan", "11.13.01").returncode == 0
    issued = desk_access(bus, "issue", "bawaslu")
    assert issued.returncode == 0, issued.stderr
    first = token_in(issued.stdout)
    rotated = desk_access(bus, "rotate", keys.parse(first).key_id)  # type: ignore[union-attr]
    assert rotated.returncode == 0, rotated.stderr
    second = token_in(rotated.stdout)

    log = read_stream(bus)
    assert all(first.encode() not in data and second.encode() not in data for _, _, data in log)
    secrets = [keys.parse(t).secret.encode() for t in (first, second)]  # type: ignore[union-attr]
    assert all(secret not in data for secret in secrets for _, _, data in log)
    events = [decode_event(data) for _, _, data in log]
    assert [e.event_type for e in events] == ["AgencyRegistered", "AgencyRegistered", "AgencyKeyIssued",
                                              "AgencyKeyIssued", "AgencyKeyRevoked"]
    assert {e.actor.id for e in events} == {"ops-1"} and {e.actor.kind for e in events} == {"person"}
    registry = rebuild(events)
    assert isinstance(authenticate(registry, second), Agency)
    assert authenticate(registry, first) == Denied("revoked API key", keys.parse(first).key_id)  # type: ignore[union-attr]

    listed = desk_access(bus, "list")
    assert listed.returncode == 0
    assert "bawaslu" in listed.stdout and "camat-blangkejeren" in listed.stdout and "REVOKED: rotated" in listed.stdout
    assert first not in listed.stdout and second not in listed.stdout


@pytest.mark.parametrize("args, reason", [
    (["register", "kpu", "--name", "KPU", "--kind", "kpu", "--regency", "11.13"], "already registered"),
    (["register", "kpu2", "--name", "KPU", "--kind", "kpu", "--kecamatan", "11.13.99"],
     "unknown area code(s): 11.13.99"),
    (["register", "kpu3", "--name", "KPU", "--kind", "kpu"], "at least one area"),
    (["register", "Bad Code", "--name", "KPU", "--kind", "kpu", "--regency", "11.13"], "lower case letters"),
    (["register", "kpu4", "--name", "KPU", "--kind", "partai", "--regency", "11.13"], "invalid choice"),
    (["issue", "nobody"], "no agency nobody"),
    (["register", "kpu5", "--name", "", "--kind", "kpu", "--regency", "11.13"], "name: String should have at least 1"),
    (["revoke", "0123456789ab", "--reason", "x"], "no key 0123456789ab"),
    (["areas", "kpu", "--regency", "11"], "not a regency code like 11.13"),
])
def test_refused_commands_say_why_and_append_nothing(bus: BusSettings, args: list[str], reason: str) -> None:
    assert desk_access(bus, "register", "kpu", "--name", "KPU", "--kind", "kpu", "--regency", "11.13").returncode == 0
    before = len(read_stream(bus))
    refused = desk_access(bus, *args)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert reason in refused.stderr
    assert len(read_stream(bus)) == before


def test_an_unreachable_bus_is_an_error_not_a_hang() -> None:
    bus = BusSettings(nats_url=f"nats://127.0.0.1:{free_port()}")
    failed = desk_access(bus, "--connect-seconds", "1", "list")
    assert failed.returncode == 1 and "no NATS server answered" in failed.stderr
    assert failed.stdout == ""


def test_a_poison_message_among_the_access_events_is_skipped(bus: BusSettings) -> None:
    assert desk_access(bus, "register", "kpu", "--name", "KPU", "--kind", "kpu", "--regency", "11.13").returncode == 0

    async def poison() -> None:
        nc = await connect(bus, "test-poison")
        await nc.jetstream().publish(AgencyRegistered.subject, b'{"type": "AgencyRegistered", "payload": 7}')
        await nc.close()

    asyncio.run(poison())
    assert desk_access(bus, "issue", "kpu").returncode == 0
    listed = desk_access(bus, "list")
    assert listed.returncode == 0 and "kpu  (kpu) KPU" in listed.stdout and "valid" in listed.stdout


def test_nats_config_writes_a_user_per_valid_key_and_the_roles(bus: BusSettings, tmp_path) -> None:
    desk_access(bus, "register", "kpu", "--name", "KPU Kabupaten Gayo Lues", "--kind", "kpu", "--regency", "11.13")
    first = token_in(desk_access(bus, "issue", "kpu").stdout)
    second = token_in(desk_access(bus, "issue", "kpu").stdout)
    desk_access(bus, "revoke", keys.parse(first).key_id, "--reason", "lost")  # type: ignore[union-attr]
    output, passwords = tmp_path / "authorization.conf", tmp_path / "passwords.json"
    written = desk_access(bus, "nats-config", "--passwords", str(passwords), "--output", str(output))
    assert written.returncode == 0, written.stderr
    assert "10 NATS users" in written.stdout  # operator, auditor, mirror, six services, the one valid key
    text = output.read_text()
    assert keys.nats_user(keys.parse(second).key_id) in text  # type: ignore[union-attr]
    assert keys.nats_user(keys.parse(first).key_id) not in text  # type: ignore[union-attr]
    assert second not in text and "password" in text and oct(passwords.stat().st_mode)[-3:] == "600"
    again = desk_access(bus, "nats-config", "--passwords", str(passwords), "--output", str(output))
    assert "(unchanged)" in again.stdout and output.read_text() == text
