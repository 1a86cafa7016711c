"""The situation board in a real headless Chromium (Debian's, driven by Playwright) against the
running system: a report submitted to intake appears on an open board without a reload within
2 s, and its kecamatan's tile changes colour when the level rises; without a session the page
says so and shows nothing. Screenshots are kept in `test-artifacts/`."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from desk_shared.access.people import Role
from desk_shared.contracts.agencies import Areas
from desk_testing.people import PASSWORD, person_token
from desk_testing.system import RunningSystem

pytestmark = pytest.mark.system

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("DESK_TEST_ARTIFACTS", "test-artifacts"))
SIAGA_COLOUR = "rgb(239, 108, 0)"
CAMAT = "camat.puteri-betung"

if not Path(CHROMIUM).exists():
    pytest.skip("no Chromium: install Debian's `chromium` (the CI script does)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def officer(system: RunningSystem) -> str:
    """A token of a desk officer of the Gayo Lues desk (made before the browser starts: see below)."""
    return person_token(system.bus, "petugas.desk", (Role.DESK_OFFICER,), Areas(regencies=("11.13",)))


@pytest.fixture(scope="module")
def browser(system: RunningSystem, officer: str) -> Iterator[object]:
    """After the system, the officer and the camat below: Playwright's sync API holds an event loop on
    this thread while it runs, so nothing may call asyncio.run meanwhile."""
    person_token(system.bus, CAMAT, (Role.LEADER,), Areas(kecamatan=("11.13.07",)))
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def board(browser: object, system: RunningSystem, token: str | None) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID")  # type: ignore[attr-defined]
    if token:
        context.add_cookies([{"name": "desk_session", "value": token, "url": system.projection}])
    page = context.new_page()
    return page


def test_a_report_appears_on_an_open_board_within_two_seconds_and_its_tile_turns_siaga(
        browser: object, system: RunningSystem) -> None:
    page = board(browser, system, system.token)
    page.goto(f"{system.projection}/papan")  # type: ignore[attr-defined]
    page.wait_for_selector("#status[data-state='terhubung']")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-position]")  # type: ignore[attr-defined]
    page.evaluate("window.sameDocument = true")  # type: ignore[attr-defined]
    tile = ".tile[data-code='11.13.07']"
    assert page.locator(f"{tile}[data-open='1']").count() == 0  # type: ignore[attr-defined]

    sent = time.monotonic()
    text = f"Massa membawa parang menyerang posko, tiga orang luka-luka ({uuid.uuid4()})"
    answer = httpx.post(f"{system.intake}/v1/reports", headers=system.auth,
                        json={"kecamatan": "11.13.07", "text": text})
    assert answer.status_code == 202, answer.text
    page.wait_for_selector(f"{tile}[data-open='1']", timeout=5000)  # type: ignore[attr-defined]
    took = time.monotonic() - sent
    print(f"the report reached the open board {took:.2f} s after it was sent")
    assert took < 2.0, f"the report took {took:.2f} s to reach the open board"
    assert page.evaluate("window.sameDocument") is True  # no reload  # type: ignore[attr-defined]

    page.wait_for_selector(f"{tile}[data-level='siaga'], {tile}[data-level='awas']",  # type: ignore[attr-defined]
                           timeout=10_000)
    level = page.get_attribute(tile, "data-level")  # type: ignore[attr-defined]
    expected = {"siaga": SIAGA_COLOUR, "awas": "rgb(198, 40, 40)"}[level]
    page.wait_for_function(  # the colour fades in over 0.4 s  # type: ignore[attr-defined]
        "([t, c]) => getComputedStyle(document.querySelector(t)).backgroundColor === c", arg=[tile, expected],
        timeout=3000)
    assert "kritis 1" in page.inner_text(tile)  # type: ignore[attr-defined]
    assert "otomatis 1 · terverifikasi 0" in page.inner_text(tile)  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "papan-siaga.png"), full_page=True)  # type: ignore[attr-defined]


def test_a_desk_that_sees_several_regencies_gets_a_tile_per_regency(browser: object, system: RunningSystem) -> None:
    page = board(browser, system, system.token)  # the leader sees every regency
    page.goto(f"{system.projection}/papan")  # type: ignore[attr-defined]
    page.wait_for_selector("#tiles[data-kind='kecamatan'] .tile[data-code='11.13.07']")  # type: ignore[attr-defined]
    text = f"Kotak suara TPS 02 hilang dibawa orang tak dikenal ({uuid.uuid4()})"
    answer = httpx.post(f"{system.intake}/v1/reports", headers=system.auth,
                        json={"kecamatan": "12.01.01", "text": text})
    assert answer.status_code == 202, answer.text
    page.wait_for_selector("#tiles[data-kind='kabupaten'] .tile[data-code='12.01']",  # type: ignore[attr-defined]
                           timeout=5000)
    gayo_lues = page.inner_text(".tile[data-code='11.13']")  # type: ignore[attr-defined]
    assert "Kabupaten Gayo Lues" in gayo_lues and "1 insiden" in gayo_lues
    assert page.get_attribute(".tile[data-code='11.13']", "data-level") in ("siaga", "awas")  # type: ignore[attr-defined]
    assert page.locator(".tile[data-code='11.13.07']").count() == 0  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "papan-kabupaten.png"), full_page=True)  # type: ignore[attr-defined]


def test_without_a_session_the_board_says_so_and_shows_nothing(browser: object, system: RunningSystem) -> None:
    page = board(browser, system, None)
    response = page.goto(f"{system.projection}/papan")  # type: ignore[attr-defined]
    assert response.status == 401
    assert "Belum masuk" in page.inner_text("h1")  # type: ignore[attr-defined]
    assert httpx.get(f"{system.projection}/v1/live/situation", timeout=5).status_code == 401
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "papan-belum-masuk.png"))  # type: ignore[attr-defined]


def test_a_person_signs_in_at_the_boards_address_and_out_again(browser: object, system: RunningSystem) -> None:
    page = board(browser, system, None)
    assert page.goto(f"{system.projection}/papan").status == 401  # type: ignore[attr-defined]
    page.click("a[href='/masuk']")  # type: ignore[attr-defined]
    page.fill("input[name=login]", CAMAT)  # type: ignore[attr-defined]
    page.fill("input[name=password]", "bukan-kata-sandinya")  # type: ignore[attr-defined]
    with page.expect_navigation() as wrong:  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
    assert wrong.value.status == 401 and "salah" in page.inner_text(".galat")  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{system.projection}/papan")  # type: ignore[attr-defined]
    page.wait_for_selector("#status[data-state='terhubung']")  # type: ignore[attr-defined]
    page.wait_for_selector(".tile[data-code='11.13.07']")  # type: ignore[attr-defined]
    assert page.locator(".tile").count() == 1  # a camat sees his kecamatan only  # type: ignore[attr-defined]
    cookie = next(c for c in page.context.cookies() if c["name"] == "desk_session")  # type: ignore[attr-defined]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.screenshot(path=str(ARTIFACTS / "papan-camat.png"), full_page=True)  # type: ignore[attr-defined]
    page.click("form[action='/keluar'] button")  # type: ignore[attr-defined]
    page.wait_for_url(f"{system.projection}/masuk")  # type: ignore[attr-defined]
    assert httpx.get(f"{system.projection}/papan", cookies={"desk_session": cookie["value"]}).status_code == 401


def test_from_a_tile_to_its_incidents_and_one_incidents_page(browser: object, system: RunningSystem) -> None:
    page = board(browser, system, system.token)
    text = f"Pendukung paslon saling lempar batu di depan TPS 04, dua orang luka ({uuid.uuid4()})"
    answer = httpx.post(f"{system.intake}/v1/reports", headers=system.auth,
                        json={"kecamatan": "11.13.09", "text": text})
    assert answer.status_code == 202, answer.text
    page.goto(f"{system.projection}/papan/11.13.09")  # type: ignore[attr-defined]
    page.wait_for_selector("#daftar tbody tr", timeout=10_000)  # type: ignore[attr-defined]
    assert "Insiden di Kec." in page.inner_text("#judul")  # type: ignore[attr-defined]
    page.click("#daftar tbody tr a")  # type: ignore[attr-defined]
    page.wait_for_selector("#riwayat li[data-event='ReportSubmitted']")  # type: ignore[attr-defined]
    assert page.get_attribute("body", "data-classification") == "otomatis"  # type: ignore[attr-defined]
    assert text in page.inner_text("#laporan")  # type: ignore[attr-defined]
    timeline = page.inner_text("#riwayat")  # type: ignore[attr-defined]
    assert "Laporan masuk" in timeline and "Insiden dibuka" in timeline
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "insiden.png"), full_page=True)  # type: ignore[attr-defined]
    assert board(browser, system, None).goto(  # type: ignore[attr-defined]
        f"{system.projection}/insiden/{uuid.uuid4()}").status == 401


def test_an_officer_verifies_on_the_incident_page_and_a_second_browser_sees_it(
        browser: object, system: RunningSystem, officer: str) -> None:
    incident = submitted(system, "11.13.05", "Kepala desa membagikan sembako berlogo paslon kepada warga")
    address = f"{system.projection}/insiden/{incident}"
    leader = board(browser, system, system.token)
    leader.goto(address)  # type: ignore[attr-defined]
    leader.wait_for_selector("body[data-ready='true'][data-classification='otomatis']")  # type: ignore[attr-defined]
    assert leader.is_hidden("#tindakan")  # a leader may not decide: no buttons  # type: ignore[attr-defined]
    leader.evaluate("window.sameDocument = true")  # type: ignore[attr-defined]

    desk = board(browser, system, officer)
    desk.goto(address)  # type: ignore[attr-defined]
    desk.wait_for_selector("#tindakan:not([hidden]) button[data-action='verify']")  # type: ignore[attr-defined]
    desk.select_option("select[name=severity]", "tinggi")  # type: ignore[attr-defined]
    desk.click("button[data-action='severity']")  # type: ignore[attr-defined]
    desk.wait_for_selector("body[data-severity='tinggi']")  # type: ignore[attr-defined]
    desk.fill("textarea[name=note]", "Dicek ke Panwascam, benar terjadi")  # type: ignore[attr-defined]
    desk.click("button[data-action='notes']")  # type: ignore[attr-defined]
    desk.wait_for_selector("#riwayat li[data-event='IncidentNoted']")  # type: ignore[attr-defined]
    sent = time.monotonic()
    desk.click("button[data-action='verify']")  # type: ignore[attr-defined]
    desk.wait_for_selector("#kabar[data-state='tersimpan']")  # type: ignore[attr-defined]
    desk.wait_for_selector("body[data-classification='terverifikasi']")  # type: ignore[attr-defined]

    leader.wait_for_selector("#riwayat li[data-event='IncidentVerified']", timeout=5000)  # type: ignore[attr-defined]
    assert leader.get_attribute("body", "data-classification") == "terverifikasi"  # type: ignore[attr-defined]
    print(f"the second browser showed the verification {time.monotonic() - sent:.2f} s after the click")
    assert leader.evaluate("window.sameDocument") is True  # no reload  # type: ignore[attr-defined]
    timeline = leader.inner_text("#riwayat")  # type: ignore[attr-defined]
    assert "Diverifikasi petugas" in timeline and "Dicek ke Panwascam" in timeline
    assert "petugas.desk" in timeline  # who did it, by login
    assert leader.get_attribute("body", "data-severity") == "tinggi"  # type: ignore[attr-defined]
    desk.screenshot(path=str(ARTIFACTS / "insiden-petugas.png"), full_page=True)  # type: ignore[attr-defined]
    leader.screenshot(path=str(ARTIFACTS / "insiden-pimpinan.png"), full_page=True)  # type: ignore[attr-defined]

    desk.click("button[data-action='severity']")  # already tinggi: refused, and the page says why
    desk.wait_for_selector("#kabar[data-state='galat']")  # type: ignore[attr-defined]
    assert "already tinggi" in desk.inner_text("#kabar")  # type: ignore[attr-defined]
    refused = httpx.post(f"{system.projection}/v1/incidents/{incident}/actions/verify", json={},
                         headers={"Authorization": f"Bearer {system.token}"})
    assert refused.status_code == 403, refused.text


def submitted(system: RunningSystem, kecamatan: str, text: str) -> str:
    """The incident of a new report (`text` made unique), once the projection has it."""
    marker = uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))  # no number: the leader
    # searching for it may not search by long numbers
    answer = httpx.post(f"{system.intake}/v1/reports", headers=system.auth,
                        json={"kecamatan": kecamatan, "text": f"{text} ({marker})"})
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = httpx.get(f"{system.projection}/v1/incidents", params={"q": marker},
                          headers={"Authorization": f"Bearer {system.token}"}).json()
        if found.get("items"):
            return str(found["items"][0]["incident_id"])
        time.sleep(0.2)
    raise AssertionError(f"no incident for {text!r} in the projection")


def test_relayed_commands_answer_bad_input_clearly(system: RunningSystem, officer: str) -> None:
    incident = submitted(system, "11.13.04", "Spanduk paslon dirusak orang tak dikenal di depan balai desa")
    act = f"{system.projection}/v1/incidents/{incident}/actions"
    as_officer = {"Authorization": f"Bearer {officer}"}
    cases = [(f"{act}/verify", {}, {"Authorization": "Bearer dps_stolen"}, 401),
             (f"{act}/verify", {}, {}, 401),
             (f"{act}/terbang", {}, as_officer, 404),
             (f"{act}/severity", {"severity": "parah"}, as_officer, 422),
             (f"{act}/close", {}, as_officer, 422),
             (f"{system.projection}/v1/incidents/{uuid.uuid4()}/actions/verify", {}, as_officer, 404),
             (f"{act}/urgency", {"urgent": True}, as_officer, 409)]
    for url, body, headers, status in cases:
        refused = httpx.post(url, json=body, headers=headers, timeout=10)
        assert refused.status_code == status, (url, body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json" and refused.json()["detail"]
    forged = httpx.post(f"{act}/notes", json={"note": "dari situs lain"}, cookies={"desk_session": officer},
                        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://jahat.example"}, timeout=10)
    assert forged.status_code == 403, forged.text  # the session cookie from another site's page: refused
    assert httpx.post(f"{act}/verify", content=b"{oops", headers={**as_officer, "Content-Type": "application/json"},
                      timeout=10).status_code == 422
    key = {**as_officer, "Idempotency-Key": f"catatan-{incident}"}
    first = httpx.post(f"{act}/notes", json={"note": "Dicek"}, headers=key, timeout=10)
    again = httpx.post(f"{act}/notes", json={"note": "Dicek"}, headers=key, timeout=10)
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    later = httpx.post(f"{act}/notes", json={"note": "Sesudahnya"}, headers=as_officer, timeout=10)
    assert later.status_code == 202, later.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the later note projected: the retried one was projected before it
        timeline = httpx.get(f"{system.projection}/v1/incidents/{incident}", headers=as_officer).json()["timeline"]
        if any(e["summary"].get("note") == "Sesudahnya" for e in timeline):
            break
        time.sleep(0.2)
    assert [e["summary"]["note"] for e in timeline if e["event_type"] == "IncidentNoted"] == ["Dicek", "Sesudahnya"]


def test_queues_search_charts_map_and_the_daily_report(browser: object, system: RunningSystem, officer: str) -> None:
    incident = submitted(system, "11.13.02", "Tim sukses membagikan amplop berisi uang kepada pemilih di TPS 03")
    page = board(browser, system, officer)
    page.goto(f"{system.projection}/papan")  # type: ignore[attr-defined]
    tile = ".tile[data-code='11.13.02']"
    page.wait_for_selector(f"#tiles[data-map='true'] {tile}[data-trend]")  # type: ignore[attr-defined]
    assert sum(map(int, page.get_attribute(tile, "data-trend").split(","))) >= 1  # type: ignore[attr-defined]
    placed = page.eval_on_selector(tile, "e => [getComputedStyle(e).gridRowStart, "  # type: ignore[attr-defined]
                                         "getComputedStyle(e).gridColumnStart]")
    assert placed == ["2", "3"]  # Kutapanjang where the layout file puts it
    page.screenshot(path=str(ARTIFACTS / "papan-peta.png"), full_page=True)  # type: ignore[attr-defined]

    page.goto(f"{system.projection}/antrean?instansi=bawaslu")  # type: ignore[attr-defined]
    page.wait_for_selector(f"#antrean tr[data-incident='{incident}'][data-sla]")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-agency='bawaslu']")  # the performance table too  # type: ignore[attr-defined]
    assigned = page.eval_on_selector_all("#antrean tbody tr", "rows => rows.length")  # type: ignore[attr-defined]
    assert assigned >= 1 and "BAWASLU" in page.inner_text("#kinerja")  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "antrean.png"), full_page=True)  # type: ignore[attr-defined]

    page.goto(f"{system.projection}/cari")  # type: ignore[attr-defined]
    page.fill("input[name=q]", "amplop pemilih")  # type: ignore[attr-defined]
    page.select_option("select[name=category]", "money_politics")  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector(f"#hasil tr[data-incident='{incident}']")  # type: ignore[attr-defined]
    export = page.get_attribute("#unduh", "href")  # type: ignore[attr-defined]
    assert export.startswith("/v1/incidents.csv?") and "q=amplop" in export
    csv_text = httpx.get(f"{system.projection}{export}", cookies={"desk_session": officer}).text
    assert incident in csv_text and "Tim sukses membagikan amplop" in csv_text
    page.fill("input[name=kecamatan]", "11.13")  # type: ignore[attr-defined]
    page.evaluate("document.getElementById('saring').noValidate = true")  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#keterangan.galat")  # a bad code is said, not a blank page  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "cari.png"), full_page=True)  # type: ignore[attr-defined]

    page.goto(f"{system.projection}/grafik")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-ready='true']")  # type: ignore[attr-defined]
    assert int(page.get_attribute("#laporan", "data-total")) >= 1  # type: ignore[attr-defined]
    assert page.locator("#laporan rect").count() >= 1  # type: ignore[attr-defined]
    assert page.locator("#legenda [data-category='money_politics']").count() == 1  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "grafik.png"), full_page=True)  # type: ignore[attr-defined]

    report = httpx.get(f"{system.projection}/laporan/harian", cookies={"desk_session": officer}, timeout=30)
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    assert report.content.startswith(b"%PDF")
    (ARTIFACTS / "laporan-harian.pdf").write_bytes(report.content)
