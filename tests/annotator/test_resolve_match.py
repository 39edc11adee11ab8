"""Matching a symbol label to a file's definitions, and where in a definition a line falls."""

from __future__ import annotations

import pytest

from annotator.records import FileIndex, Symbol
from annotator.resolve.match import ends_with, innermost, kind_of, matches, name_table, symbol_parts


def _sym(qualname: str, start: int, end: int, line: int | None = None) -> Symbol:
    return Symbol(qualname, "function", start, line or start, end, 0, "")


FI = FileIndex(
    "pkg/core/pool.py", "pkg.core.pool", "0", 40, "",
    (_sym("Pool", 1, 30), _sym("Pool.take", 5, 10), _sym("Other.take", 31, 35), _sym("take", 36, 40),
     _sym("Pool.take.inner", 6, 8)),
    (), (),
)  # fmt: skip


@pytest.mark.parametrize(
    ("label", "found"),
    [
        ("take", ["Pool.take", "Other.take", "take"]),
        ("Pool.take()", ["Pool.take"]),
        ("pool.Pool.take", ["Pool.take"]),
        ("pkg.core.pool.Pool", ["Pool"]),
        ("ake", []),
        ("inner", ["Pool.take.inner"]),
        ("other.Pool.take", []),
    ],
)
def test_labels_match_whole_trailing_parts(label: str, found: list[str]) -> None:
    """A label names definitions whose qualname ends with its parts; a module prefix is dropped."""
    assert [s.qualname for s in matches(FI, name_table(FI), symbol_parts(label))] == found


def test_symbol_parts_drop_call_parentheses() -> None:
    """`A.b()` is the parts [A, b]."""
    assert symbol_parts(" A.b() ") == ["A", "b"]


def test_ends_with_compares_whole_parts() -> None:
    """`Pool.take` ends with [take] and [Pool, take] but not [ake] or a longer list."""
    assert ends_with("Pool.take", ["take"]) and ends_with("Pool.take", ["Pool", "take"])
    assert not ends_with("Pool.take", ["ake"]) and not ends_with("take", ["Pool", "take"])


def test_innermost_picks_the_most_nested_definition() -> None:
    """Of definitions containing a line, the one starting last (then ending first) wins."""
    assert innermost([FI.symbols[0], FI.symbols[1], FI.symbols[4]]).qualname == "Pool.take.inner"
    assert innermost([]) is None


def test_kind_of_distinguishes_def_lead_and_interior() -> None:
    """Decorator and docstring lines are lead, the def line is def, the rest interior."""
    sym = Symbol("f", "function", start=10, line=12, end=20, doc_end=14, summary="")
    assert [kind_of(sym, n) for n in (10, 12, 13, 14, 15, 20)] == ["lead", "def", "lead", "lead", "interior", "interior"]
    bare = Symbol("g", "function", start=3, line=3, end=5, doc_end=0, summary="")
    assert [kind_of(bare, n) for n in (3, 4)] == ["def", "interior"]
