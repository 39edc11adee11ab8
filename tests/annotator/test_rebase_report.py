"""Tests for annotator.rebase.report: the one markdown page a maintainer reviews after a rebase."""

from __future__ import annotations

from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.rebase.rebased import Location, Rebased, Span
from annotator.rebase.report import needs_review, render_report
from annotator.rebase.tree import TreeView


def views(tmp_path):
    for name, text in (("old", "def f():\n    return 1\n"), ("new", "\ndef g():\n    return 2\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.py").write_text(text)
    cache = tmp_path / "cache"
    return TreeView(open_index(tmp_path / "old", cache), "0.1.0"), TreeView(open_index(tmp_path / "new", cache), "0.3.0")


def records() -> list[Rebased]:
    a1, a2 = scan_text("`m.py:1 — f()` then `m.py:2`\n", "b.md")
    [a3] = scan_text("\n\n`m.py:1 — gone()`\n", "a.md")
    renamed = Rebased(a1, Location("m.py", 1, None, "f()"), Location("m.py", 2, None, "g()"), "renamed", True, 0.8,
                      "0.2.0: f renamed to g", (), Span("m.py", 1, 2), Span("m.py", 2, 3), "g",
                      ("0.2.0: newly used in 3/3 files that used the old name",), "0.2.0")
    moved = Rebased(a2, Location("m.py", 2, None, None), Location("m.py", 3, None, None), "moved", False, 1.0)
    missing = Rebased(a3, Location("m.py", 1, None, "gone()"), None, "missing", False, 0.0, "gone is not in 0.3.0",
                      ("m.py:2 — g (0.41: similar name)",), release="0.3.0")
    return [renamed, moved, missing]


def test_report_lists_what_needs_review_per_document_in_order(tmp_path):
    """Documents sorted, each anchor that did more than move: status, successor, release, evidence, diff."""
    old, new = views(tmp_path)
    text = render_report(records(), old, new, ["0.1.0", "0.2.0", "0.3.0"])
    assert text.startswith("# Since the pin: 0.1.0 → 0.3.0")
    assert "0.1.0 → 0.2.0 → 0.3.0" in text
    assert text.index("## a.md") < text.index("## b.md")
    assert "— vanished — needs a decision" in text and "candidates 1: m.py line 2 — g (0.41: similar name)" in text
    assert "successor: `g`" in text and "since release: 0.2.0" in text and "evidence: 0.2.0: newly used" in text
    assert "```diff" in text and "-    return 1" in text and "+    return 2" in text
    assert "`m.py line 2`" not in text  # the anchor that only moved is counted, not listed
    assert scan_text(text, "review.md") == []  # places are written so that no one takes them for citations
    assert "| moved | 1 |" in text and "2 of 3 anchors need a look" in text
    decisions = text[text.index("## Decisions first"):text.index("## a.md")]
    assert "a.md line 3 — missing in 0.3.0" in decisions and "b.md line 1 — renamed in 0.2.0" in decisions and "→ `g`" in decisions


def test_same_code_is_diffed_once(tmp_path):
    """A second anchor on the same changed code points back to the first diff instead of repeating it."""
    old, new = views(tmp_path)
    renamed = records()[0]
    [again] = scan_text("`m.py:1 — f()`\n", "c.md")
    twin = Rebased(again, renamed.old, renamed.new, "renamed", True, 0.8, "", (), renamed.old_span, renamed.new_span, "g")
    text = render_report([renamed, twin], old, new, ["0.1.0", "0.3.0"])
    assert text.count("```diff") == 1 and "the same code as under b.md line 1" in text


def test_needs_review_skips_plain_moves():
    """Only an anchor that merely moved (code unchanged) is left out of the report."""
    renamed, moved, missing = records()
    assert [needs_review(r) for r in (renamed, moved, missing)] == [True, False, True]
