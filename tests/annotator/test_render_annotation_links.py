"""Tests for annotator.render.annotation_links: anchors → tokens → links, broken ones visible."""

from __future__ import annotations

import markdown
from mkdocs.structure.toc import AnchorLink

from annotator.anchors import scan_text
from annotator.records import Finding
from annotator.render.annotation_links import anchor_html, fix_toc, link_paths, mark, substitute, token
from annotator.render.model import Citation

DOC = """# Title

- `pkg/a.py:3 — f()` — does a thing; `pkg/a.py:9 — g()` too.
- plain pkg/b.py:4 in prose, and [the pool](../upstream/pkg/a.py#L3-L5).

| Symbol | Where |
|---|---|
| f | `a.py:3` |
"""


def _citation(anchor, status="ok", path="pkg/a.py", n=0) -> Citation:
    finding = Finding(anchor, path, anchor.line, anchor.line_end, "def", status, f"{status} message", None)
    return Citation("p.md", n, finding, "")


def test_every_anchor_is_replaced_by_its_token():
    """Each anchor's characters become its token; everything else is unchanged."""
    anchors = scan_text(DOC, "d.md")
    marked, placed = mark(DOC, anchors)
    assert placed == set(range(len(anchors)))
    for n, a in enumerate(anchors):
        assert token(n) in marked and a.text not in marked.split("\n")[a.doc_line - 1]
    restored = marked
    for n, a in enumerate(anchors):
        restored = restored.replace(token(n), a.text)
    assert restored == DOC


def test_anchor_whose_text_moved_is_left_alone():
    """A stale position (the page was changed by someone else) places no token."""
    anchors = scan_text(DOC, "d.md")
    changed = DOC.replace("- `pkg/a.py:3", "- xx`pkg/a.py:3")
    _, placed = mark(changed, anchors)
    assert {0, 1}.isdisjoint(placed) and {2, 3, 4} <= placed  # only that line shifted


def test_tokens_survive_markdown_in_code_tables_and_links():
    """After markdown, every token is still whole in the HTML, so it can be swapped."""
    anchors = scan_text(DOC, "d.md")
    marked, placed = mark(DOC, anchors)
    html = markdown.markdown(marked, extensions=["tables"])
    assert all(token(n) in html for n in placed)


def test_substitute_swaps_text_tokens_but_not_attributes():
    """A token in a heading id stays (the toc links to it); the one in the text is replaced."""
    html = f'<h2 id="x-{token(0)}">See <code>{token(0)}</code></h2>'
    out = substitute(html, lambda n: "<a>link</a>")
    assert out == f'<h2 id="x-{token(0)}">See <code><a>link</a></code></h2>'
    assert substitute(token(5), lambda n: None) == token(5)


def test_ok_anchor_links_to_the_cited_line():
    """An ok anchor is a link with its id (back-link target) and the resolved place as tooltip."""
    (a,) = scan_text("`pkg/a.py:3 — f()`", "d.md")
    out = anchor_html(_citation(a), "../source/pkg/a.py/#L3")
    assert out.startswith('<a class="annotate-cite" id="cite-0"')
    assert 'href="../source/pkg/a.py/#L3"' in out and "annotate-status" not in out


def test_broken_anchor_is_shown_with_its_status():
    """A broken anchor keeps its text and shows its status; without a file it is not a link."""
    (a,) = scan_text("`pkg/zz.py:3 — f()`", "d.md")
    out = anchor_html(_citation(a, "missing-file", path=None), None)
    assert out.startswith("<span") and "pkg/zz.py:3 — f()" in out
    assert '<span class="annotate-status">missing-file</span>' in out
    assert "missing-file: missing-file message" in out


def test_wrong_line_anchor_still_links_and_is_marked():
    """A wrong-line anchor links to the cited line but is tinted and badged as broken."""
    (a,) = scan_text("`pkg/a.py:3 — f()`", "d.md")
    out = anchor_html(_citation(a, "wrong-line"), "x/#L3")
    assert "annotate-broken" in out and 'href="x/#L3"' in out and "wrong-line" in out


def test_hostile_label_is_escaped():
    """Markup in an anchor's text or label comes out as text."""
    (a,) = scan_text('`pkg/a.py:3 — f<script>alert("x")</script>`', "d.md")
    out = anchor_html(_citation(a), "x/#L3")
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_fix_toc_puts_anchor_text_back():
    """Table-of-contents titles show the anchor text instead of the token."""
    item = AnchorLink(f"About {token(2)}", "about", 2)
    item.children.append(AnchorLink(f"{token(3)}", "c", 3))
    fix_toc([item], {2: "a.py:1 <x>", 3: "b.py:2"})
    assert item.title == "About a.py:1 &lt;x&gt;" and item.children[0].title == "b.py:2"


def test_code_spans_naming_a_cited_file_link_to_its_page():
    """`pkg/a.py` in code becomes a link when the site has that page; other code stays as it is."""
    pages = {"pkg/a.py": "../source/pkg/a.py/"}
    html = "<code>pkg/a.py</code>, <code>pkg/b.py</code>, <code>x = a/b</code>, <code><a>pkg/a.py</a></code>"
    out = link_paths(html, pages.get)
    assert out.startswith('<a href="../source/pkg/a.py/"><code>pkg/a.py</code></a>, <code>pkg/b.py</code>')
    assert out.endswith("<code>x = a/b</code>, <code><a>pkg/a.py</a></code>")
