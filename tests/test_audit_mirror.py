"""Issue 20: the auditors' copy. The auditors' own nats-server, a leaf node of the desk's connected
with the desk's generated `mirror` user, mirrors the event stream; the seals verify on the mirror
(same sequences, times, subjects, data), and keep verifying as the desk appends and seals more.
The read-only `auditor` user verifies the original, and erasing a reporter's data changes no seal."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from desk_access.nats_authorization import AUDITOR, MIRROR, OPERATOR
from desk_audit.notes import SigningKey
from desk_audit.sealer import Sealer
from desk_audit.witnessing import Cosigner
from desk_pemilu.embedded_nats import EmbeddedNats, free_port, nats_server_binary
from desk_pemilu.nats_users import NatsRoles, secured_nats
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.reports import ReporterDetails, ReportReporterErased, ReportReporterErasedPayload
from desk_shared.privacy import SubjectKeys
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing import samples
from desk_testing.fixtures import bus_env, wait_for

pytestmark = pytest.mark.system
MIRRORED = "DESK_EVENTS_MIRROR"


@dataclass
class Desk:
    server: EmbeddedNats
    roles: NatsRoles
    key: SigningKey
    auditors: str
    """The auditors' server's URL."""

    def bus(self, role: str) -> BusSettings:
        return self.roles.bus(self.server.url, role)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    home = tmp_path_factory.mktemp("mirror")
    server, roles = secured_nats(home, free_port(), sync_always=False, leaf_port=free_port())
    server.start(log_file=home / "desk-nats.log")
    auditors_port = free_port()
    config = home / "auditors.conf"
    config.write_text(
        f"listen: 127.0.0.1:{auditors_port}\njetstream {{ store_dir: {json.dumps(str(home / 'auditors'))}, "
        f"domain: auditor }}\nleafnodes {{ remotes = [ {{ url: \"nats-leaf://{MIRROR}:"
        f"{roles.passwords[MIRROR]['password']}@127.0.0.1:{server.leaf_port}\" }} ] }}\n")
    auditors = subprocess.Popen([str(nats_server_binary()), "-c", str(config)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
    try:
        yield Desk(server, roles, SigningKey.generate("desk-mirror-test"), f"nats://127.0.0.1:{auditors_port}")
    finally:
        auditors.terminate()
        auditors.wait(10)
        server.stop()


async def append_and_seal(desk: Desk, first: int, count: int) -> int:
    """`count` reports appended and sealed by the audit service's own NATS user; the log's last sequence."""
    bus = desk.bus("audit")
    operator = await connect(desk.bus(OPERATOR), "operator")
    await ensure_streams(operator.jetstream(), bus)
    await EventPublisher(operator.jetstream(), bus).publish_all(
        [samples.report_submitted(n) for n in range(first, first + count)])
    await operator.close()
    nc = await connect(bus, "sealer")
    js = nc.jetstream()
    sealer = Sealer(js, EventPublisher(js, bus), bus.stream_name, desk.key, "test", Cosigner([]), 40)
    await sealer.start()
    while await sealer.seal_once():
        pass
    last = (await js.stream_info(bus.stream_name)).state.last_seq
    await nc.close()
    return last


def audit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desk_audit", *args], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("DESK_")} | env)


def mirrored(desk: Desk) -> int:
    async def count() -> int:
        nc = await connect(BusSettings(nats_url=desk.auditors), "count")
        try:
            return (await nc.jetstream().stream_info(MIRRORED)).state.last_seq
        finally:
            await nc.close()

    return asyncio.run(count())


def test_the_auditors_mirror_keeps_sequences_and_times_and_verifies(desk: Desk) -> None:
    last = asyncio.run(append_and_seal(desk, 1, 150))
    auditors = {"DESK_NATS_URL": desk.auditors}
    done = audit(auditors, "mirror", "--name", MIRRORED)
    assert done.returncode == 0, done.stdout + done.stderr
    wait_for(lambda: mirrored(desk) == last, 30, what="the mirror to catch up")
    verify = ("verify", "--stream", MIRRORED, "--log-key", desk.key.verifier.text(), "--no-progress")
    done = audit(auditors, *verify)
    assert done.returncode == 0 and f"{last:,} messages (from seq 1 to {last})" in done.stdout, done.stdout

    later = asyncio.run(append_and_seal(desk, 200, 60))
    wait_for(lambda: mirrored(desk) == later, 30, what="the mirror to follow")
    done = audit(auditors, *verify)
    assert done.returncode == 0 and f"sealed through seq {later - 1}" in done.stdout, done.stdout
    # the read-only auditor verifies the original on the desk's server, and the two agree
    auditor = bus_env(desk.bus(AUDITOR)) | {"DESK_NATS_USER": AUDITOR,
                                            "DESK_NATS_PASSWORD": desk.roles.passwords[AUDITOR]["password"]}
    done = audit(auditor, *verify[:1], *verify[3:])
    assert done.returncode == 0 and f"sealed through seq {later - 1}" in done.stdout, done.stdout + done.stderr
    assert "Permissions Violation" not in (desk.server.store_dir.parent / "desk-nats.log").read_text()


def test_erasing_a_reporter_leaves_every_seal_verifiable(desk: Desk) -> None:
    """The reporter travels sealed with the report's own key; the seals cover that ciphertext, so
    destroying the key (erasure) changes no stored byte and every seal still verifies."""

    async def sealed_then_erased() -> None:
        operator = desk.bus(OPERATOR)
        nc = await connect(operator, "eraser")
        js = nc.jetstream()
        keys = await SubjectKeys.open(js, operator)
        report = samples.report_submitted(500)
        subject = str(report.payload.report_id)
        reporter = await keys.seal(subject, ReporterDetails(name="Pelapor Contoh", phone="+62 812 0000 0000"))
        with_reporter = report.model_copy(update={"payload": report.payload.model_copy(update={"reporter": reporter})})
        await EventPublisher(js, operator).publish(with_reporter)
        await append_and_seal(desk, 550, 1)  # the sealed reporter sealed with the rest
        assert await keys.unseal(reporter, ReporterDetails) is not None
        await keys.erase(subject)
        await EventPublisher(js, operator).publish(ReportReporterErased.decided(
            Actor(kind="person", id="operator"), "access", ReportReporterErasedPayload(
                report_id=report.payload.report_id, reason="permintaan pelapor")))
        assert await keys.unseal(reporter, ReporterDetails) is None  # no one can read it any more
        await nc.close()

    asyncio.run(sealed_then_erased())
    last = asyncio.run(append_and_seal(desk, 600, 5))
    wait_for(lambda: mirrored(desk) == last, 30, what="the mirror to follow")
    for env, stream in (({"DESK_NATS_URL": desk.auditors}, MIRRORED), (bus_env(desk.bus(OPERATOR)) | {
            "DESK_NATS_USER": OPERATOR, "DESK_NATS_PASSWORD": desk.roles.passwords[OPERATOR]["password"]},
            "DESK_EVENTS")):
        done = audit(env, "verify", "--stream", stream, "--log-key", desk.key.verifier.text(), "--no-progress")
        assert done.returncode == 0 and f"sealed through seq {last - 1}" in done.stdout, done.stdout + done.stderr

