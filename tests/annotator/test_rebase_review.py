"""Tests for annotator.rebase.review: the diff a maintainer reads for an anchor on changed code."""

from __future__ import annotations

from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.rebase.rebased import Location, Rebased, Span
from annotator.rebase.review import review_diff
from annotator.rebase.tree import TreeView


def views(tmp_path):
    for name, text in (("old", "def f():\n    return 1\n"), ("new", "\ndef f():\n    return 2\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.py").write_text(text)
    cache = tmp_path / "cache"
    return TreeView(open_index(tmp_path / "old", cache), "0.1"), TreeView(open_index(tmp_path / "new", cache), "0.2")


def record(changed: bool) -> Rebased:
    [a] = scan_text("`m.py:1 — f()`", "d.md")
    return Rebased(a, Location("m.py", 1, None, "f()"), Location("m.py", 2, None, "f()"), "moved",
                   changed, 1.0, "", (), Span("m.py", 1, 2), Span("m.py", 2, 3))


def test_diff_shows_old_and_new_code_with_versions(tmp_path):
    """A changed anchor gets a unified diff whose headers name the spans and versions."""
    old, new = views(tmp_path)
    diff = review_diff(record(True), old, new)
    assert diff[0] == "--- m.py:1-2 (0.1)" and diff[1] == "+++ m.py:2-3 (0.2)"
    assert "-    return 1" in diff and "+    return 2" in diff


def test_unchanged_code_has_no_diff(tmp_path):
    """An anchor whose code did not change needs no review: empty diff."""
    old, new = views(tmp_path)
    assert review_diff(record(False), old, new) == []
