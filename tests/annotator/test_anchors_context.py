"""Document context: continuations inherit the block's file; basenames remember the nearest full path."""

from __future__ import annotations

from annotator.anchors.context import DocumentContext
from annotator.anchors.grammar import scan_line


def _feed(ctx: DocumentContext, n: int, line: str, cell_label: str | None = None) -> None:
    for cite in scan_line(line):
        ctx.add(n, line, cite, cell_label)


def test_continuation_takes_the_previous_file_in_the_block() -> None:
    """`:443` after `a/b.py:3` in the same block cites a/b.py, with no path span of its own."""
    ctx = DocumentContext("doc.md")
    _feed(ctx, 1, "a/b.py:3 — Foo")
    _feed(ctx, 2, "and :443 — the loop")
    cont = ctx.anchors[1]
    assert (cont.path, cont.line, cont.path_span, cont.label) == ("a/b.py", 443, None, "the loop")


def test_continuation_without_a_previous_file_is_dropped() -> None:
    """A `:12` with nothing before it in the block is not an anchor (it may be a ratio or a time)."""
    ctx = DocumentContext("doc.md")
    _feed(ctx, 1, "a/b.py:3")
    ctx.end_block()
    _feed(ctx, 3, "ratio :12 here")
    assert [a.path for a in ctx.anchors] == ["a/b.py"]


def test_continuation_follows_the_latest_file() -> None:
    """After two paths in one block, a continuation refers to the second."""
    ctx = DocumentContext("doc.md")
    _feed(ctx, 1, "a/b.py:3 and c/d.py:4 then :5")
    assert ctx.anchors[-1].path == "c/d.py"


def test_basename_records_the_nearest_full_paths_directory() -> None:
    """near_dir is the directory of the last full path earlier in the document, across blocks."""
    ctx = DocumentContext("doc.md")
    _feed(ctx, 1, "x/y/one.py:1")
    ctx.end_block()
    _feed(ctx, 3, "p/q/two.py:1")
    ctx.end_block()
    _feed(ctx, 5, "three.py:1 and :4")
    base, cont = ctx.anchors[2:]
    assert base.near_dir == "p/q" and cont.near_dir == "p/q"
    assert ctx.anchors[0].near_dir is None  # a full path needs no hint


def test_basename_before_any_full_path_has_no_hint() -> None:
    """A basename at the top of a document has near_dir None."""
    ctx = DocumentContext("doc.md")
    _feed(ctx, 1, "three.py:1")
    assert ctx.anchors[0].near_dir is None


def test_cell_label_applies_only_to_unlabelled_anchors() -> None:
    """A table row lends its label to an anchor without one, never over an anchor's own label."""
    ctx = DocumentContext("doc.md")
    _feed(ctx, 1, "a.py:1", cell_label="KVCacheBlock")
    _feed(ctx, 2, "a.py:2 — Own", cell_label="KVCacheBlock")
    assert [(a.label, a.label_kind) for a in ctx.anchors] == [("KVCacheBlock", "symbol"), ("Own", "symbol")]


def test_records_carry_document_position_and_raw_text() -> None:
    """doc, doc_line, 1-based doc_col and the raw text are recorded as written."""
    ctx = DocumentContext("notes/a.md")
    _feed(ctx, 7, "see `a/b.py:3 — the loop` ok")
    (a,) = ctx.anchors
    assert (a.doc, a.doc_line, a.doc_col, a.text) == ("notes/a.md", 7, 6, "a/b.py:3 — the loop")
    assert a.label_kind == "prose"
