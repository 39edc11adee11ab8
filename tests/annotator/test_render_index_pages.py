"""Tests for annotator.render.index_pages: the home page and the index of source files."""

from __future__ import annotations

from annotator.anchors import scan_text
from annotator.records import Finding
from annotator.render.index_pages import render_home, render_sources_index
from annotator.render.model import Citation, PageInfo
from annotator.render.nav import HOME, MAP, PAIRS, SOURCES, Linker, source_uri


def _citation(origin: str, n: int) -> Citation:
    (a,) = scan_text("`pkg/a.py:3 — f()`", origin)
    return Citation(origin, n, Finding(a, "pkg/a.py", 3, None, "def", "ok", "ok", None), "")


URLS = {
    HOME: "",
    "p1/index.md": "p1/",
    "p2/index.md": "p2/",
    PAIRS: "pairs/",
    SOURCES: "source/",
    source_uri("pkg/a.py"): "source/pkg/a.py/",
    source_uri("top.md"): "source/top.md/",
}


def test_home_lists_every_phase_with_its_citation_count():
    """The home page links each annotation page and counts its citations."""
    pages = [
        PageInfo("p2/index.md", "Two <b>", "p2"),
        PageInfo("p1/deep.md", "Deep", "p1"),
        PageInfo("p1/index.md", "One", "p1"),
    ]
    cites = [_citation("p1/index.md", 0), _citation("p1/index.md", 1), _citation("p2/index.md", 0)]
    html = render_home("Site <name>", pages, cites, {"pairs": 4}, Linker("", URLS))
    assert '<a href="p1/">One</a></td><td>2</td>' in html
    assert '<a href="p2/">Two &lt;b&gt;</a></td><td>1</td>' in html
    assert html.index("One") < html.index("Deep") < html.index("Two")  # reading order
    assert "<h1>Site &lt;name&gt;</h1>" in html and "3 citations · 4 pairs" in html


def test_home_links_only_to_index_pages_that_exist():
    """The map is not linked when the site has no map page."""
    html = render_home("S", [], [], {}, Linker("", URLS))
    assert 'href="pairs/"' in html and 'href="source/"' in html
    assert MAP not in URLS and 'href="map/"' not in html


def test_sources_index_groups_files_by_directory():
    """Each source page is listed under its directory with line and citation counts."""
    grouped = {"pkg/a.py": [_citation("p1/index.md", 0)] * 2}
    html = render_sources_index(["top.md", "pkg/a.py"], grouped, {"pkg/a.py": 30, "top.md": 2}, Linker("source/", URLS))
    assert html.index("<h2>.</h2>") < html.index("<h2>pkg</h2>")
    assert '<a href="pkg/a.py/"><code>a.py</code></a></td><td>30</td><td>2</td>' in html
