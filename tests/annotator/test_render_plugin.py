"""Tests for annotator.render.plugin: real mkdocs builds of a miniature project."""

from __future__ import annotations

import json
import logging
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from annotator.render.plugin import page_title

FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
MKDOCS_YML = Path(__file__).resolve().parents[2] / "mkdocs.yml"

HOSTILE = """---
title: Evil </title><script>alert('meta')</script>
description: x" onload="alert('desc')
---
# Evil <script>alert('h1')</script> page

Prose with <script>alert('prose')</script> and <img src=x onerror="alert('img')">.

<div onclick="alert('block')">raw block</div>

## Heading <b>bold</b> `pkg/engine.py:6 — step()`

- `pkg/engine.py:6 — step<script>alert('label')</script>` label with script.
- [click](javascript:alert('js')) and [ref][r]

[r]: javascript:alert('ref')

- `pkg/nowhere.py:3 — Nope()` is broken.
"""


class Page(HTMLParser):
    """Every element's tag and attributes, and the text of every script element."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def _build(root: Path, strict: bool = False) -> Path:
    cfg = load_config(config_file=str(root / "mkdocs.yml"), strict=strict)
    cfg.plugins.on_startup(command="build", dirty=False)
    try:
        build(cfg)
    finally:
        cfg.plugins.on_shutdown()
    return root / "site"


def _project(tmp_path_factory, name: str, extra: dict[str, str] | None = None) -> Path:
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    shutil.copy(MKDOCS_YML, root / "mkdocs.yml")  # the repository's own site configuration
    for rel, text in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private annotate cache for every build of this module."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATE_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def site(tmp_path_factory, cache) -> Path:
    """The fixture project, built once."""
    return _build(_project(tmp_path_factory, "clean"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, cache) -> Path:
    """The fixture project plus a hostile annotation page, built once (not strict)."""
    return _build(_project(tmp_path_factory, "hostile", {"annotations/phase-03-evil/index.md": HOSTILE}))


def _page(site: Path, path: str) -> Page:
    return Page((site / path).read_text("utf-8"))


def test_every_anchor_links_to_its_source_line(site):
    """Each anchor of an annotation page links to the cited line's id on an existing source page."""
    page_dir = site / "phase-01-pool"
    links = _page(site, "phase-01-pool/index.html").find("a", **{"class": "annotate-cite"})
    fragments = [a["href"].rsplit("#", 1)[1] for a in links]
    assert fragments == ["L14", "L21", "L23", "L305", "L11", "L8"]
    for a in links:
        target, fragment = a["href"].split("#")
        html = (page_dir / target).resolve().read_text("utf-8")
        assert f'id="{fragment}"' in html


def test_markdown_link_anchor_keeps_its_text(site):
    """A markdown link into the tree becomes a link to the source page, with its own text."""
    html = (site / "phase-01-pool" / "index.html").read_text("utf-8")
    assert 'href="../source/pkg/core/block_pool.py.html#L8">the whole pool</a>' in html


def test_source_page_shows_notes_beside_cited_lines(site):
    """The cited line is marked, and its notes link back to the citing anchor and to the pair."""
    page = _page(site, "source/pkg/core/block_pool.py.html")
    (row,) = page.find("tr", id="L14")
    assert row["class"] == "hl"
    hrefs = {a["href"] for a in page.find("a")}
    assert "../../../phase-01-pool/index.html#cite-0" in hrefs
    assert "../../../pairs/mini/block_pool.py/BlockPool.get_new_blocks.html" in hrefs
    assert len(page.find("tr")) == 28  # one row per line of the file


def test_upstream_source_is_escaped(site):
    """Markup inside upstream code is shown as text on its source page."""
    html = (site / "source" / "pkg" / "core" / "block_pool.py.html").read_text("utf-8")
    assert "&lt;/code&gt;&lt;script&gt;alert(&#x27;from upstream&#x27;)" in html or (
        "&lt;/code&gt;&lt;script&gt;alert('from upstream')" in html
    )
    assert not any("from upstream" in s for s in _page(site, "source/pkg/core/block_pool.py.html").scripts)


def test_pair_page_shows_both_columns(site):
    """A side-by-side page has an upstream column and a minivllm column of code."""
    page = _page(site, "pairs/mini/block_pool.py/BlockPool.get_new_blocks.html")
    assert page.find("section", **{"class": "annotate-col annotate-upstream"})
    assert page.find("section", **{"class": "annotate-col annotate-minivllm"})
    assert page.find("tr", id="u1-L14") and page.find("tr", id="m1-L12")


def test_map_and_pin_pages(site):
    """MAP.md becomes a page with its mermaid diagram; its link to the pin page is rewritten."""
    page = _page(site, "map.html")
    assert page.find("pre", **{"class": "mermaid"})
    assert any(a.get("href") == "upstream-pin.html" for a in page.find("a"))
    assert any((a.get("href") or "").endswith("block_pool.py.html#L8") for a in page.find("a"))
    assert (site / "upstream-pin.html").is_file()
    html = (site / "map.html").read_text("utf-8")
    assert '<a href="source/pkg/engine.py.html"><code>pkg/engine.py</code></a>' in html  # file named in a table
    assert "<td><code>pkg/core/__init__.py</code></td>" in html  # no source page: plain code


def test_navigation_lists_reading_pages_not_every_source_file(site):
    """The nav has the phases and the index pages; source and pair pages are reached through them."""
    nav_links = {
        a["href"] for a in _page(site, "phase-01-pool/index.html").find("a") if "md-nav__link" in (a.get("class") or "")
    }
    assert {"../phase-02-engine/index.html", "../pairs/index.html", "../source/index.html", "../map.html"} <= nav_links
    assert not any("source/pkg" in h for h in nav_links)


def test_search_indexes_names_but_not_code(site):
    """Search finds a symbol name on its source page; the code text itself is not indexed."""
    index = json.loads((site / "search" / "search_index.json").read_text("utf-8"))
    docs = index["docs"]
    assert any("get_new_blocks" in d["text"] and d["location"].startswith("source/pkg/core/block_pool.py") for d in docs)
    assert not any("not enough blocks" in d["text"] for d in docs)


def test_hostile_annotation_injects_nothing(hostile):
    """Raw HTML, script URLs and event handlers in annotation markdown never reach the page as markup."""
    page = _page(hostile, "phase-03-evil/index.html")
    assert not any("alert" in s for s in page.scripts)
    for tag, attrs in page.elements:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for key in ("href", "src"):
            assert not (attrs.get(key) or "").lower().startswith("javascript"), (tag, attrs)
        assert "alert(" not in " ".join(v or "" for k, v in attrs.items() if k not in ("content", "title")), attrs
    html = (hostile / "phase-03-evil" / "index.html").read_text("utf-8")
    assert "&lt;script&gt;alert('prose')&lt;/script&gt;" in html  # shown as text, not dropped


def test_hostile_titles_are_safe_everywhere(hostile):
    """Titles and front matter the theme prints unescaped carry no markup characters."""
    for url in ("phase-03-evil/index.html", "phase-01-pool/index.html"):
        page = _page(hostile, url)
        descriptions = [a.get("content") or "" for a in page.find("meta", name="description")]
        assert all('"' not in d and "<" not in d for d in descriptions)
    html = (hostile / "phase-01-pool" / "index.html").read_text("utf-8")
    assert "<script>alert" not in html and "</title><script>" not in html


def test_broken_anchor_is_visible_with_its_status(hostile):
    """A broken anchor is shown in place, with a status badge, not silently dropped."""
    html = (hostile / "phase-03-evil" / "index.html").read_text("utf-8")
    assert "pkg/nowhere.py:3 — Nope()</span>" in html
    assert '<span class="annotate-status">missing-file</span>' in html


def test_strict_build_fails_on_a_broken_anchor(tmp_path_factory, cache, caplog):
    """mkdocs build --strict aborts when an annotation has a broken anchor, naming it."""
    root = _project(tmp_path_factory, "strict", {"annotations/phase-03-x/index.md": "# X\n\n`pkg/gone.py:1 — f()`\n"})
    with caplog.at_level(logging.WARNING), pytest.raises(Abort):
        _build(root, strict=True)
    assert "annotations/phase-03-x/index.md:3:2: missing-file" in caplog.text


def test_missing_tree_says_how_to_fetch_it(tmp_path_factory, cache, caplog):
    """Without the upstream tree the build stops with a message naming `annotate fetch`."""
    root = _project(tmp_path_factory, "notree")
    shutil.rmtree(root / "tree")
    with caplog.at_level(logging.ERROR), pytest.raises(Abort):
        _build(root)
    assert "the upstream tree is not there; run `annotate fetch`" in caplog.text


@pytest.mark.parametrize(
    "markdown,expected",
    [
        ("# Phase 02 — `BlockPool` and *friends*\n", "Phase 02 — BlockPool and *friends*"),
        ("intro\n\n# A <b>title</b> #\n", "A ‹b›title‹/b›"),
        ("no heading\n", "Deep dive"),
    ],
)
def test_page_title_is_plain_and_safe(markdown, expected):
    """A page's nav title is its first H1 as plain text without markup characters."""
    assert page_title(markdown, "deep-dive") == expected


def test_serve_also_watches_minivllm_map_and_pin(tmp_path_factory, cache):
    """`mkdocs serve` rebuilds when the Python twins, MAP.md or the pin page change."""
    from annotator.render.plugin import AnnotatePlugin

    root = _project(tmp_path_factory, "serve")
    cfg = load_config(config_file=str(root / "mkdocs.yml"))
    plugin = cfg.plugins["annotate"]
    assert isinstance(plugin, AnnotatePlugin)
    plugin.on_config(cfg)

    class Server:
        watched: list[str] = []

        def watch(self, path: str) -> None:
            self.watched.append(path)

    server = Server()
    plugin.on_serve(server, config=cfg, builder=None)
    assert {str(root / "mini"), str(root / "MAP.md"), str(root / "UPSTREAM_PIN.md")} <= set(server.watched)
