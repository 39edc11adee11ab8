"""Lab 19.01 tests: anchors parse in every dash form and resolve by span containment."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)

MODULE = '''"""A tiny module."""


def helper():
    return 1


class Pool:
    """A pool."""

    @staticmethod
    def make():
        return Pool()

    def take(self, n):
        def inner():
            return n

        return inner()
'''


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A one-file tree: pkg/pool.py."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pool.py").write_text(MODULE)
    return tmp_path


@pytest.mark.parametrize("dash", ["—", "–", "--", "-"])
def test_dash_forms_parse(dash: str):
    """Each dash form yields the same path, line and label, in or out of backticks."""
    a = impl.parse_anchor(f"`pkg/pool.py:16 {dash} Pool.take()`")
    assert a == impl.Anchor("pkg/pool.py", 16, "Pool.take()") and a.is_symbol
    assert impl.parse_anchor(f"see pkg/pool.py:16{dash}Pool.take") == impl.Anchor("pkg/pool.py", 16, "Pool.take")


def test_plain_and_prose_anchors():
    """No label, prose labels, and text without an anchor."""
    assert impl.parse_anchor("pkg/pool.py:4") == impl.Anchor("pkg/pool.py", 4, None)
    prose = impl.parse_anchor("pkg/pool.py:13 — the static factory")
    assert prose.label == "the static factory" and not prose.is_symbol
    assert impl.parse_anchor("nothing to see here") is None


def test_spans_include_decorators_and_nesting():
    """Decorated methods start at the decorator; nested functions are Outer.inner."""
    spans = impl.symbol_spans(MODULE)
    assert spans["helper"] == [(4, 4, 5)]
    assert spans["Pool.make"] == [(11, 12, 13)]
    assert spans["Pool.take.inner"] == [(16, 16, 17)]
    assert spans["Pool"] == [(8, 8, 19)]


@pytest.mark.parametrize(
    "text,status,suggestion",
    [
        ("pkg/pool.py:12 — Pool.make()", "ok", None),
        ("pkg/pool.py:11 — Pool.make()", "ok", None),
        ("pkg/pool.py:18 — take", "ok", None),
        ("pkg/pool.py:16 — Pool.make()", "wrong-line", 12),
        ("pkg/pool.py:2 — helper", "wrong-line", 4),
        ("pkg/pool.py:4 — Pool.give()", "unknown-symbol", None),
        ("pkg/pool.py:18 — Other.take", "unknown-symbol", None),
        ("pkg/gone.py:4 — helper", "missing-file", None),
        ("pkg/pool.py:99 — helper", "line-out-of-range", None),
        ("pkg/pool.py:2 — the module docstring", "ok", None),
    ],
)
def test_check_anchor(tree: Path, text: str, status: str, suggestion):
    """Each anchor gets the status (and suggested def line) that containment implies."""
    finding = impl.check_anchor(tree, impl.parse_anchor(text))
    assert (finding.status, finding.suggestion) == (status, suggestion)
