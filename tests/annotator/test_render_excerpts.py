"""Tests for annotator.render.excerpts: the citing sentence, cut out and rendered safely."""

from __future__ import annotations

import pytest

from annotator.anchors import scan_text
from annotator.render.excerpts import MAX_CHARS, excerpt, plain, render


def _first(doc: str) -> str:
    anchors = scan_text(doc, "d.md")
    return excerpt(doc.split("\n"), anchors[0])


CASES = [
    (
        "list item: the sentence after the anchor, continuation lines joined",
        "- `pkg/a.py:3 — f()` — Pops blocks from the head.\n  It refuses up front.\n- next item\n",
        "Pops blocks from the head. It refuses up front.",
    ),
    (
        "mid-sentence: the anchor is replaced by its label",
        "Intro line.\n\nThe pool calls `pkg/a.py:3 — f()` before it returns. Then more.\n",
        "The pool calls `f()` before it returns.",
    ),
    (
        "table row: the other cells",
        "| Symbol | Role | Where |\n|---|---|---|\n| count_free | blocks left | `utils.py:11` |\n",
        "count_free · blocks left",
    ),
    (
        "markdown link: its text stands for it, links become their text",
        "See [the pool](../upstream/pkg/a.py#L3) and [docs](https://x.org) for more.\n",
        "See the pool and docs for more.",
    ),
]


@pytest.mark.parametrize("name,doc,expected", CASES, ids=[c[0] for c in CASES])
def test_excerpt_is_the_citing_sentence(name, doc, expected):
    """The note is the sentence holding the anchor, reduced to plain text with code kept."""
    assert _first(doc) == expected


def test_short_sentence_takes_the_next_one():
    """When the anchor's sentence is only the anchor, the next sentence joins it."""
    doc = "- `pkg/a.py:3 — f()`. Does the real work here, carefully.\n"
    assert _first(doc) == "Does the real work here, carefully."


def test_paragraph_does_not_leak_across_blank_lines_or_headings():
    """The block stops at blank lines and headings."""
    doc = "# Title\nA `pkg/a.py:3 — f()` call.\n\nOther paragraph.\n"
    assert _first(doc) == "A `f()` call."


def test_long_excerpts_are_clipped_at_a_word():
    """An excerpt never exceeds the limit and ends with an ellipsis when cut."""
    doc = "- `pkg/a.py:3 — f()` — " + "word " * 200 + "\n"
    text = _first(doc)
    assert len(text) <= MAX_CHARS + 2 and text.endswith(" …")


def test_render_escapes_everything_but_code_spans():
    """Backtick spans become <code>; any markup in the text is escaped."""
    out = render("a <script>x</script> and `b<c>` and ``d``")
    assert out == "a &lt;script&gt;x&lt;/script&gt; and <code>b&lt;c&gt;</code> and <code>d</code>"


def test_plain_reduces_links_and_bold():
    """Links keep their text and bold its words."""
    assert plain("**bold** [t](u) ![i](x.png)") == "bold t i"
