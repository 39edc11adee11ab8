"""Tests for annotator.render.source_page: line ids, cited lines, notes beside them, outline."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from annotator.records import FileIndex, Symbol
from annotator.render.model import FileFacts, Note, Ref
from annotator.render.nav import Linker, source_uri
from annotator.render.source_page import code_table, render_source

URLS = {
    "phase-01/index.md": "phase-01/",
    source_uri("pkg/a.py"): "source/pkg/a.py/",
    source_uri("pkg/b.py"): "source/pkg/b.py/",
}
LINK = Linker(URLS[source_uri("pkg/a.py")], URLS)


class _Rows(HTMLParser):
    """Collects, per table row, its id, class and number of cells and their rowspans."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.rows.append({"id": a.get("id"), "class": a.get("class"), "cells": []})
        elif tag == "td" and self.rows:
            self.rows[-1]["cells"].append(int(a.get("rowspan", 1)))


def _rows(html: str) -> list[dict]:
    parser = _Rows()
    parser.feed(html)
    return parser.rows


def _note(line, end=None, text="says something", title="Phase 01"):
    return Note(line, end or line, title, "phase-01/index.md", f"cite-{line}", text, "f()")


def test_every_line_has_a_stable_id_and_self_link():
    """Row n has id Ln and its number links to #Ln."""
    html = code_table([f"line {i}" for i in range(1, 6)], [], LINK)
    assert [r["id"] for r in _rows(html)] == [f"L{i}" for i in range(1, 6)]
    assert '<a href="#L3">3</a>' in html


def test_cited_lines_and_ranges_are_marked():
    """Lines inside a cited range carry the highlight class; the others do not."""
    html = code_table([f"x{i}" for i in range(1, 11)], [_note(3, 5), _note(8)], LINK)
    marked = [r["id"] for r in _rows(html) if r["class"] == "hl"]
    assert marked == ["L3", "L4", "L5", "L8"]


def test_notes_sit_beside_their_line_and_never_overlap():
    """Each notes cell starts on its cited line; rowspans stop before the next notes cell."""
    notes = [_note(2, text="x" * 400), _note(4), _note(4, title="Phase 02")]
    rows = _rows(code_table([f"x{i}" for i in range(1, 21)], notes, LINK))
    covered = 0  # rows still covered by an earlier notes cell
    for row in rows:
        extra = row["cells"][2:]
        assert not (covered and extra), "a notes cell overlaps the one above"
        covered = max(covered - 1, extra[0] - 1) if extra else max(covered - 1, 0)
    assert len(rows[1]["cells"]) == 3 and rows[1]["cells"][2] == 2  # line 2 spans up to line 4
    assert len(rows[3]["cells"]) == 3  # line 4 has its own cell


def test_note_links_back_to_the_citing_sentence():
    """A note names its page, links to the anchor's id there, and shows the sentence escaped."""
    html = code_table(["a", "b"], [_note(2, text="uses `x<y>` here")], LINK)
    assert 'href="../../../phase-01/#cite-2"' in html
    assert "<code>x&lt;y&gt;</code>" in html


def test_lines_outside_the_shown_window_are_ignored():
    """A window of lines (pair pages) numbers rows from `first` and drops notes outside it."""
    html = code_table(["a", "b"], [_note(1), _note(11)], LINK, first=10, prefix="u-L")
    rows = _rows(html)
    assert [r["id"] for r in rows] == ["u-L10", "u-L11"] and rows[1]["class"] == "hl"
    assert rows[0]["class"] is None


def test_page_has_outline_with_callers_and_import_facts():
    """The outline lists definitions linking to their lines, with callers; imports are listed."""
    sym = Symbol("Pool.get", "method", 3, 3, 5, 0, "")
    cls = Symbol("Pool", "class", 1, 1, 5, 0, "")
    fi = FileIndex("pkg/a.py", "pkg.a", "0", 5, "A pool <of> blocks.", (cls, sym), (), ())
    facts = FileFacts(
        imports=(Ref("pkg.b", "pkg/b.py"),),
        importers=(Ref("pkg.c", None),),
        callers={"Pool.get": (Ref("pkg.b.run", "pkg/b.py", 7),)},
    )
    html = render_source("pkg/a.py", ["class Pool:", "", "    def get(self):", "", ""], fi, [_note(3)], facts, LINK)
    assert '<a href="#L3"><span class="annotate-kind">def</span> <code>Pool.get</code></a>' in html
    assert 'href="../b.py/#L7"' in html  # the caller links to its own source page
    assert "Imports (1)" in html and "Imported by (1)" in html
    assert "A pool &lt;of&gt; blocks." in html
    assert re.search(r'<li class="d1">', html)  # the method is nested under its class


def test_code_is_kept_out_of_search():
    """The code table is marked so mkdocs-material's search skips it."""
    assert "data-search-exclude" in code_table(["a"], [], LINK)
