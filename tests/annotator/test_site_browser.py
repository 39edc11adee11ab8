"""The built site in a real browser (headless Chromium): anchors, side-by-side pages, search, links.

A small project (the render fixture) is built once, served over HTTP on 127.0.0.1, and driven
with playwright using Debian's chromium (``.ci/run`` installs it; no browser is downloaded).
Screenshots of each check are saved under the test's temporary directory.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from annotator import config as config_mod
from annotator.commands import site as site_cmd

FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
MKDOCS_YML = Path(__file__).resolve().parents[2] / "mkdocs.yml"
# $CHROMIUM, else a chromium on PATH, else Debian's (which `bash .ci/setup` installs where missing).
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOSTILE = """# Hostile links

[a](java&#115;cript:alert&#40;1&#41;) [b](javascript&#58;alert(2)) [c](&#x6A;avascript:alert(3))
[d](JaVa&Tab;ScRiPt:alert(4)) [e](jav&amp;#x61;script:alert(5)) [f][r] [g][s]
![h](java&#115;cript:alert(6)) [i](data:text/html,<script>alert(7)</script>)

[r]: java&#115;cript:alert(8)
[s]: &#x6A;avascript&#58;alert(9)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The fixture project's site, built once for the module."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    shutil.copy(MKDOCS_YML, root / "mkdocs.yml")  # the repository's own site configuration
    (root / "annotations" / "hostile").mkdir()
    (root / "annotations" / "hostile" / "index.md").write_text(HOSTILE, "utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        report = site_cmd.build_into(config_mod.load(root), root / "site")
    assert report.broken == 0
    return root / "site"


@pytest.fixture(scope="module")
def server(built):
    """An HTTP server for the built site on a free local port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(timeout=5)
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile, driven by playwright."""
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run `bash .ci/setup` (README) or set CHROMIUM"
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()


def test_anchor_click_lands_on_the_highlighted_cited_line(browser, server, tmp_path):
    """Clicking an anchor opens the source page scrolled to the cited line, which is highlighted."""
    page = browser.new_page()
    page.goto(f"{server}/phase-01-pool/index.html")
    page.click("a.annotate-cite[href$='long.py.html#L305']")
    page.wait_for_url("**/source/pkg/core/long.py.html#L305")
    row = page.locator("tr#L305")
    row.wait_for()
    assert page.evaluate("document.querySelector('tr#L305').matches(':target')")
    box = page.evaluate("(() => { const r = document.querySelector('tr#L305').getBoundingClientRect();"
                        " return [r.top, r.bottom, window.innerHeight, window.scrollY]; })()")
    top, bottom, height, scrolled = box
    assert scrolled > 1000 and 0 <= top and bottom <= height, box  # really scrolled, and in view
    cited = page.evaluate("getComputedStyle(document.querySelector('tr#L305 > td.lc')).backgroundColor")
    plain = page.evaluate("getComputedStyle(document.querySelector('tr#L300 > td.lc')).backgroundColor")
    assert cited != plain
    page.screenshot(path=str(tmp_path / "anchor.png"))
    page.close()


def test_side_by_side_page_shows_both_columns(browser, server, tmp_path):
    """A pair page shows the upstream and the minivllm code next to each other."""
    page = browser.new_page()
    page.goto(f"{server}/pairs/mini/block_pool.py/BlockPool.get_new_blocks.html")
    up = page.locator("section.annotate-upstream").bounding_box()
    mini = page.locator("section.annotate-minivllm").bounding_box()
    assert up and mini and up["width"] > 200 and mini["width"] > 200
    assert up["x"] + up["width"] <= mini["x"] and abs(up["y"] - mini["y"]) < 5  # side by side, aligned
    assert page.locator("section.annotate-upstream tr#u1-L14").is_visible()
    assert "get_new_blocks" in page.locator("section.annotate-minivllm").inner_text()
    page.screenshot(path=str(tmp_path / "pair.png"), full_page=True)
    page.close()


def test_search_finds_get_new_blocks(browser, server, tmp_path):
    """Typing a symbol name in the search box lists the pages that mention it."""
    page = browser.new_page()
    page.goto(f"{server}/")
    page.click("input.md-search__input")
    page.locator("input.md-search__input").press_sequentially("get_new_blocks", delay=20)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=20_000)
    items = results.all_inner_texts()
    assert len(items) >= 3  # the notes, the source page's outline, the side-by-side page
    assert all("get_new_blocks" in item for item in items[:3]), items
    page.screenshot(path=str(tmp_path / "search.png"))
    page.close()


class _Links(HTMLParser):
    """ids defined on a page and the internal URLs it refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            value = a.get(key)
            if value and not urlsplit(value).scheme and not value.startswith("//"):
                self.refs.append(value)


def test_no_broken_internal_links(built):
    """Every internal href/src of every page points at an existing file, and at an existing id."""
    parsed: dict[Path, _Links] = {}
    for html in built.rglob("*.html"):
        parser = _Links()
        parser.feed(html.read_text("utf-8"))
        parsed[html.resolve()] = parser
    broken = []
    for html, links in parsed.items():
        if html.name == "404.html":
            continue  # served for any missing URL, its links are root-relative by design
        for ref in links.refs:
            path, _, fragment = ref.partition("#")
            target = (html.parent / unquote(path)).resolve() if path else html
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{html.relative_to(built.resolve())}: {ref}")
            elif fragment and target.suffix == ".html" and unquote(fragment) not in parsed[target].ids:
                broken.append(f"{html.relative_to(built.resolve())}: {ref} (no such id)")
    assert broken == []
    assert len(parsed) > 10


def test_hostile_links_run_no_script(browser, server, tmp_path):
    """A page whose links hide ``javascript:`` in character references opens no dialog, on load or click."""
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    url = f"{server}/hostile/index.html"
    page.goto(url)
    links = page.locator("article a, article p > *")  # links, and whatever the unsafe ones became
    assert links.count() >= 9
    for i in range(links.count()):
        links.nth(i).click()
        page.wait_for_timeout(50)
        if page.url.split("#")[0] != url:
            page.goto(url)
    page.screenshot(path=str(tmp_path / "hostile.png"))
    page.close()
    assert dialogs == []
