"""People as the running system knows them: login (argon2 passwords, a secure session cookie,
lockout), bearer tokens, logout, and the administrator's changes reaching every service at once;
personal data sealed in the log and erased by destroying its key. Services as processes on a
real nats-server; the administrator is `desk-access` run as a process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest

from desk_shared.contracts.people import PersonalDetails, Role
from desk_shared.contracts.privacy import Sealed
from desk_shared.privacy import SubjectKeys, unseal
from desk_shared.runtime.bus import connect
from desk_testing.agencies import bearer
from desk_testing.fixtures import bus_env, read_stream, wait_for
from desk_testing.people import person_token
from desk_testing.system import RunningSystem

pytestmark = pytest.mark.system

PASSWORD = "Sandi-Rahasia-2026"


def desk_access(system: RunningSystem, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desk_access", "--operator", "admin-1", *args],
                          env=bus_env(system.bus), input=stdin, capture_output=True, text=True, timeout=60)


def add(system: RunningSystem, login: str, *areas: str, name: str = "Rahmat Hidayat") -> None:
    done = desk_access(system, "person", "add", login, "--name", name, "--phone", "+62 812 0000 1111",
                       "--role", "leader", *areas, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def login(system: RunningSystem, who: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{system.access}/v1/login", json={"login": who, "password": password})


def situation(system: RunningSystem, headers: dict[str, str] | None = None,
              cookies: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(f"{system.projection}/v1/situation", headers=headers, cookies=cookies)


def test_a_login_gives_a_secure_cookie_and_a_token_that_open_the_board(system: RunningSystem) -> None:
    add(system, "pimpinan.a", "--regency", "11.13")
    answer = login(system, "pimpinan.a")
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert all(part in cookie for part in ("desk_session=dps_", "HttpOnly", "Secure", "SameSite=strict", "Path=/"))
    token = answer.json()["token"]
    assert answer.json()["person"]["roles"] == ["leader"]
    assert situation(system, bearer(token)).status_code == 200
    assert situation(system, cookies={"desk_session": token}).status_code == 200
    assert situation(system).status_code == 401
    assert situation(system, bearer(token[:-2] + "xx")).status_code == 401

    api = httpx.post(f"{system.access}/v1/tokens", json={"days": 7}, headers=bearer(token))
    assert api.status_code == 201 and api.json()["kind"] == "api"
    assert httpx.post(f"{system.access}/v1/logout", headers=bearer(token)).status_code == 204
    assert situation(system, bearer(token)).status_code == 401  # ended everywhere
    assert situation(system, bearer(api.json()["token"])).status_code == 200  # a token lives on its own


def test_wrong_passwords_lock_the_login_and_unknown_logins_look_the_same(system: RunningSystem) -> None:
    add(system, "petugas.b", "--regency", "11.13")
    unknown = login(system, "tidak.ada", "salah")
    first = login(system, "petugas.b", "salah")
    assert (unknown.status_code, first.status_code) == (401, 401)
    assert unknown.json()["detail"] == first.json()["detail"]
    answers = [login(system, "petugas.b", "salah").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    locked = login(system, "petugas.b")  # the right password, while locked
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    add(system, "petugas.c", "--regency", "11.13")
    assert login(system, "petugas.c").status_code == 200  # another login is not locked with it


def test_the_administrators_changes_reach_the_services_at_once(system: RunningSystem) -> None:
    add(system, "camat.c", "--kecamatan", "11.13.02")
    token = login(system, "camat.c").json()["token"]
    places = situation(system, bearer(token)).json()["kecamatan"]
    assert [k["code"] for k in places] == ["11.13.02"]
    changed = desk_access(system, "person", "roles", "camat.c", "--role", "leader", "--kecamatan", "11.13.03")
    assert changed.returncode == 0, changed.stderr
    wait_for(lambda: [k["code"] for k in situation(system, bearer(token)).json()["kecamatan"]] == ["11.13.03"], 10,
             what="the new area on the board")
    assert desk_access(system, "person", "disable", "camat.c", "--reason", "pindah tugas").returncode == 0
    wait_for(lambda: situation(system, bearer(token)).status_code == 401, 10, what="the disabled person refused")
    assert login(system, "camat.c").status_code == 401


def test_personal_data_is_sealed_in_the_log_and_erased_with_its_key(system: RunningSystem) -> None:
    add(system, "saksi.d", "--regency", "11.13", name="Siti Aminah Lubis")
    log = [json.loads(data) for data in system_log(system)]
    registered = next(e for e in log if e["type"] == "PersonRegistered" and e["payload"]["login"] == "saksi.d")
    raw = json.dumps(log)
    assert "Siti Aminah" not in raw and "812 0000" not in raw and "$argon2" not in raw and PASSWORD not in raw
    sealed = Sealed.model_validate(registered["payload"]["details"])
    assert "saksi.d  Siti Aminah Lubis" in desk_access(system, "person", "list").stdout
    key = asyncio.run(subject_key(system, sealed.subject))
    assert key is not None and unseal(key, sealed, PersonalDetails).name == "Siti Aminah Lubis"

    erased = desk_access(system, "person", "erase", "saksi.d", "--reason", "permintaan subjek data (UU 27/2022)")
    assert erased.returncode == 0, erased.stderr
    assert asyncio.run(subject_key(system, sealed.subject)) is None
    assert "saksi.d  (personal data erased)" in desk_access(system, "person", "list").stdout
    after = [json.loads(data) for data in system_log(system)]
    assert after[:len(log)] == log  # the log itself is untouched
    assert [e["type"] for e in after[len(log):] if e["type"].startswith("Person")][-2:] == [
        "PersonDisabled", "PersonDataErased"]
    assert login(system, "saksi.d").status_code == 401


def system_log(system: RunningSystem) -> list[bytes]:
    return [data for _, _, data in read_stream(system.bus)]


async def subject_key(system: RunningSystem, subject: str) -> bytes | None:
    nc = await connect(system.bus, "test-keys")
    try:
        return await (await SubjectKeys.open(nc.jetstream(), system.bus)).key(subject)
    finally:
        await nc.close()


def test_a_reporter_is_sealed_shown_only_to_roles_that_need_it_with_a_record_and_erasable(
        system: RunningSystem) -> None:
    body = {"kecamatan": "11.13.01", "text": "Kepala desa membagikan amplop berisi uang kepada warga malam ini.",
            "reporter": {"name": "Budi Santoso", "phone": "+62 812 7777 0001"}}
    first = httpx.post(f"{system.intake}/v1/reports", json=body, headers=system.auth | {"Idempotency-Key": "rep-1"})
    again = httpx.post(f"{system.intake}/v1/reports", json=body, headers=system.auth | {"Idempotency-Key": "rep-1"})
    assert (first.status_code, again.status_code) == (202, 202) and again.json()["duplicate"], again.text
    report_id = first.json()["report_id"]
    assert "Budi Santoso" not in json.dumps([json.loads(d) for d in system_log(system)])
    incident = wait_for(lambda: system.incident_of(report_id), 30, what="the incident")
    url = f"{system.projection}/v1/incidents/{incident['incident_id']}"

    leader = httpx.get(url, headers=system.reader).json()
    assert (leader["reporter"], leader["reporter_redacted"]) == (None, True)
    officer_token = person_token(system.bus, "petugas.e", roles=(Role.DESK_OFFICER,))
    officer = httpx.get(url, headers=bearer(officer_token)).json()
    assert officer["reporter"] == {"name": "Budi Santoso", "phone": "+62 812 7777 0001", "erased": False}
    records = [e for e in map(json.loads, system_log(system)) if e["type"] == "AccessRecorded"]
    assert records[-1]["payload"]["subjects"] == [report_id] and records[-1]["actor"]["kind"] == "person"

    erased = desk_access(system, "erase-reporter", report_id, "--reason", "permintaan pelapor")
    assert erased.returncode == 0, erased.stderr
    assert httpx.get(url, headers=bearer(officer_token)).json()["reporter"] == {
        "name": None, "phone": None, "erased": True}
    last = [e for e in map(json.loads, system_log(system)) if e["type"] == "AccessRecorded"][-1]
    assert last["payload"]["erased"] == [report_id]
