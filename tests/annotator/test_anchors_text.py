"""Inline text: code spans, label extents, link labels, and the symbol/prose rule."""

from __future__ import annotations

import pytest

from annotator.anchors.text import code_spans, label_at, label_kind, link_label, looks_coded


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("Foo", "symbol"), ("Foo.bar()", "symbol"), ("foo.bar.baz", "symbol"), ("__init__", "symbol"),
        ("Foo()", "symbol"), ("Foo.bar(x)", "prose"), ("the loop", "prose"), ("1abc", "prose"),
        ("Foo.", "prose"), ("Foo..bar", "prose"), ("Foo.bar()()", "prose"), (None, None),
    ],
)  # fmt: skip
def test_label_kind_is_symbol_iff_dotted_identifier(label: str | None, kind: str | None) -> None:
    """A label is a symbol exactly when it is a dotted identifier, optionally ending in ()."""
    assert label_kind(label) == kind


def test_code_spans_match_runs_of_equal_length() -> None:
    """``a`b`` is one span; an unmatched backtick is literal text."""
    assert code_spans("x ``a`b`` y") == [(2, 4, 7, 9)]
    assert code_spans("a ` b") == []
    assert code_spans("`a` `b`") == [(0, 1, 2, 3), (4, 5, 6, 7)]


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("a.py:3 — the loop; then", "the loop"),
        ("a.py:3 — f(x, y) is called", "f(x, y) is called"),
        ("a.py:3 — Foo.bar() does it", "Foo.bar()"),
        ("a.py:3 — plain words here", "plain words here"),
        ("a.py:3 — `Foo` after", "Foo"),
        ("a.py:3 —", None),
        ("a.py:3 then", None),
        ("a.py:3 — one | two", "one"),
    ],
)  # fmt: skip
def test_bare_label_extent(line: str, label: str | None) -> None:
    """A bare label stops at a clause boundary; a code-like head is the whole label."""
    assert label_at(line, 0, 6, None)[1] == label


def test_label_inside_a_code_span_is_the_rest_of_the_span() -> None:
    """`` `a.py:3 — the loop, step 2` `` keeps the whole rest of the span as its label."""
    line = "`a.py:3 — the loop, step 2` rest"
    (span,) = code_spans(line)
    assert label_at(line, 1, 7, span) == (1, "the loop, step 2", 26)


@pytest.mark.parametrize(
    ("text", "label"),
    [("`Pool`", "Pool"), ("Pool.take()", "Pool.take()"), ("the pool", "the pool"), ("here", None), ("", None)],
)
def test_link_label(text: str, label: str | None) -> None:
    """Link text is the label unless it is a lone plain word."""
    assert link_label(text) == label


def test_looks_coded() -> None:
    """Calls, dotted, snake_case and CamelCase words are code; plain words are not."""
    assert all(looks_coded(w) for w in ["f()", "a.b", "snake_case", "KVCache", "getX"])
    assert not any(looks_coded(w) for w in ["Allocates", "here", "BLOCK"])
