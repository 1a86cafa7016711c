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
def browser(system: RunningSystem) -> Iterator[object]:
    """After the system and the camat below: Playwright's sync API holds an event loop on this thread
    while it runs, so nothing may call asyncio.run meanwhile."""
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
    colour = page.eval_on_selector(tile, "e => getComputedStyle(e).backgroundColor")  # type: ignore[attr-defined]
    level = page.get_attribute(tile, "data-level")  # type: ignore[attr-defined]
    assert (level, colour) in (("siaga", SIAGA_COLOUR), ("awas", "rgb(198, 40, 40)"))
    assert "kritis 1" in page.inner_text(tile)  # type: ignore[attr-defined]
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
