"""The board works with no internet: every page, script and style it serves refers only to the
application's own address (no CDN, no web font), and every file a page names is served."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from desk_projection.board.pages import MENU, STATIC

REFERENCE = re.compile(r"""(?:fetch|EventSource|import)\s*\(\s*[`'"]([^`'"]+)""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href", "action") and value]


def own(address: str) -> bool:
    return address.startswith("/") and not address.startswith("//")


def test_pages_name_only_the_applications_own_files() -> None:
    pages = sorted(STATIC.glob("*.html"))
    assert len(pages) >= 6
    for page in pages:
        links = Links()
        links.feed(page.read_text(encoding="utf-8").replace("<!--menu-->", MENU))
        assert links.found, page.name
        assert all(own(link) for link in links.found), (page.name, [k for k in links.found if not own(k)])
        for link in links.found:
            if link.startswith("/static/"):
                assert (STATIC / link.removeprefix("/static/")).is_file(), (page.name, link)


def test_scripts_and_styles_reach_nothing_outside() -> None:
    scripts = sorted(STATIC.glob("*.js"))
    assert scripts
    for script in scripts:
        for address in REFERENCE.findall(script.read_text(encoding="utf-8")):
            assert own(address), (script.name, address)
    for style in STATIC.glob("*.css"):
        text = style.read_text(encoding="utf-8")
        assert "@import" not in text and "@font-face" not in text, style.name
        assert all(own(address) for address in CSS_URL.findall(text)), style.name
