"""Suggestions rewrite only an anchor's path/line (or label) characters, in the writer's own style."""

from __future__ import annotations

import pytest

from annotator.anchors import scan_text
from annotator.records import FileIndex, Symbol
from annotator.resolve.suggest import canonical, nearest_names, relabel, rewrite


def _anchor(doc: str):
    return scan_text(doc, "d.md")[-1]


@pytest.mark.parametrize(
    ("doc", "changes", "expected"),
    [
        ("`a/b.py:10 — Foo.bar()`", {"line": 20}, "a/b.py:20 — Foo.bar()"),
        ("x a/b.py:10–12 — the loop", {"line": 30}, "a/b.py:30–32 — the loop"),
        ("a/b.py:L10-L12", {"line": 5}, "a/b.py:L5-L7"),
        ("`upstream/a/b.py:10`", {"path": "c/d.py"}, "upstream/c/d.py:10"),
        ("[`Foo`](../upstream/a/b.py#L10-L12)", {"path": "c/d.py", "line": 3}, "[`Foo`](../upstream/c/d.py#L3-L5)"),
        ("`a/b.py:10` — `Foo.baz()`", {"line": 4, "label": "Foo.bar()"}, "`a/b.py:4` — `Foo.bar()`"),
        ("a/b.py:1 and :10 — Foo", {"path": "c/d.py", "line": 7}, "c/d.py:7 — Foo"),
        ("a/b.py:1 and :10–11", {"path": "c/d.py"}, "c/d.py:10–11"),
    ],
)  # fmt: skip
def test_rewrite_changes_only_what_it_is_asked_to(doc: str, changes: dict, expected: str) -> None:
    """Paths, line numbers (ranges as a whole) and labels change; dashes, prefixes and links stay."""
    assert rewrite(_anchor(doc), **changes) == expected


def test_rewrite_of_a_table_lent_label_falls_back_to_canonical() -> None:
    """When the label is not in the anchor's text (a table row lent it), the canonical form is used."""
    a = _anchor("| `Foo.baz` | x | `a/b.py:10` |")
    assert a.label == "Foo.baz"
    assert rewrite(a, label="Foo.bar", line=3) == "a/b.py:3 — Foo.bar"


def test_rewrite_never_writes_line_zero() -> None:
    """Moving a range down past the top of the file clamps at line 1."""
    assert rewrite(_anchor("a/b.py:10-12"), line=1) == "a/b.py:1-3"
    assert rewrite(_anchor("a/b.py:10-40"), line=1).startswith("a/b.py:1-")


def test_canonical_form() -> None:
    """`path:line — label`, with an en dash for ranges and no dash without a label."""
    assert canonical("a.py", 3, None, "Foo") == "a.py:3 — Foo"
    assert canonical("a.py", 3, 5, None) == "a.py:3–5"


def _fi(*names: str) -> FileIndex:
    syms = tuple(Symbol(n, "function", i + 1, i + 1, i + 1, 0, "") for i, n in enumerate(names))
    return FileIndex("m.py", "m", "0", len(names), "", syms, (), ())


def test_nearest_names_prefers_close_qualnames_then_close_last_parts() -> None:
    """Close qualified names come first; otherwise a close last part still finds the method."""
    fi = _fi("Pool.get_new_blocks", "Pool.free_blocks", "helper")
    assert [s.qualname for s in nearest_names(fi, "Pool.get_new_block()")][0] == "Pool.get_new_blocks"
    assert [s.qualname for s in nearest_names(fi, "Other.free_block")] == ["Pool.free_blocks"]
    assert nearest_names(fi, "Zq") == []


def test_relabel_keeps_the_parentheses_style() -> None:
    """A label written with () gets a suggestion with (); one without, without."""
    sym = Symbol("Pool.take", "method", 1, 1, 2, 0, "")
    assert relabel("Pool.tak()", sym) == "Pool.take()"
    assert relabel("Pool.tak", sym) == "Pool.take"
