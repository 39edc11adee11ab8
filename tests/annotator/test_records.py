"""Tests for annotator.records: containment and the verify JSON contract."""

from __future__ import annotations

from annotator.records import STATUSES, Anchor, Finding, Symbol

SYM = Symbol("BlockPool.get_new_blocks", "method", 330, 333, 363, 343, "Get new blocks.")


def test_contains_spans_decorators_to_end():
    """A symbol contains lines from its first decorator to its last line, ranges included."""
    assert SYM.contains(330) and SYM.contains(363) and SYM.contains(340, 350)
    assert not SYM.contains(329) and not SYM.contains(360, 364)


def test_finding_json_has_exactly_the_design_keys():
    """to_json emits exactly the keys DESIGN.md's verify contract lists."""
    anchor = Anchor("d.md", 3, 5, "x.py:1", "x.py", 1, None, None, None, (0, 4), (5, 6))
    record = Finding(anchor, "x.py", 1, None, "def", "ok", "fine", None).to_json()
    assert set(record) == {
        "doc", "doc_line", "doc_col", "text", "path", "line", "line_end", "label",
        "label_kind", "kind", "status", "message", "suggestion",
    }  # fmt: skip
    assert record["status"] in STATUSES
