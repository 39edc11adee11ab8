"""Tests for annotator.render.pairs: which minivllm definition pairs with which upstream one."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.records import Finding
from annotator.render.model import Citation
from annotator.render.pairs import find_pairs, head_span, mini_symbol, upstream_span
from annotator.resolve import resolve

PROJECT = Path(__file__).parent / "fixtures" / "render_project"

MINI = '''"""Module."""


# upstream: pkg/core/block_pool.py:8 — BlockPool
class Pool:
    """Doc."""

    size = 3

    # upstream: pkg/core/block_pool.py:14 — BlockPool.get_new_blocks()
    @staticmethod
    # a comment between the decorator and the def is fine
    def take(n):
        # upstream: pkg/core/block_pool.py:18 — BlockPool.get_new_blocks()
        return n

    def other(self):
        return 1


x = 1  # upstream: pkg/engine.py:6 — step()
'''


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """The fixture project's toy tree, indexed."""
    return open_index(PROJECT / "tree", tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """An index of the MINI module above."""
    root = tmp_path_factory.mktemp("mini")
    (root / "m.py").write_text(MINI)
    return open_index(root, tmp_path_factory.mktemp("cache")).file("m.py")


def _citations(upstream) -> list[Citation]:
    anchors = scan_text(MINI, "mini/m.py", python=True)
    return [Citation("mini/m.py", n, f, "") for n, f in enumerate(resolve(anchors, upstream))]


@pytest.mark.parametrize(
    "line,expected",
    [
        (4, "Pool"),  # comment right above the class
        (10, "Pool.take"),  # above a decorated method: the method, not the class around it
        (14, "Pool.take"),  # inside the body: the enclosing definition
        (21, None),  # module level with nothing after it: no pair
    ],
)
def test_mini_symbol_is_the_next_or_enclosing_definition(mini, line, expected):
    """An anchor comment belongs to the definition right below it, else the one around it."""
    sym = mini_symbol(mini, MINI.split("\n"), line)
    assert (sym.qualname if sym else None) == expected


def test_class_pairs_show_the_class_head_only(mini):
    """A class is shown up to its first method; its methods have pairs of their own."""
    pool = next(s for s in mini.symbols if s.qualname == "Pool")
    assert head_span(mini, pool) == (pool.start, 10)
    assert head_span(mini, pool, MINI.split("\n")) == (pool.start, 8)  # trailing blank + comment go


def test_upstream_span_is_the_named_definition(upstream):
    """A symbol anchor's upstream side is that definition; a class anchor its head."""
    cites = _citations(upstream)
    spans = {(c.finding.line): upstream_span(c.finding, upstream.file(c.finding.path)) for c in cites}
    assert (spans[14].qualname, spans[14].start, spans[14].end) == ("BlockPool.get_new_blocks", 14, 19)
    assert (spans[8].qualname, spans[8].start, spans[8].end) == ("BlockPool", 8, 10)
    assert spans[18].qualname == "BlockPool.get_new_blocks"  # a line inside: the definition holding it


def test_module_level_line_gets_a_window(upstream):
    """A citation of a line outside any definition shows a few lines around it."""
    (a,) = scan_text("`pkg/core/block_pool.py:5 — BANNER`", "d.md")
    (finding,) = resolve([a], upstream)
    span = upstream_span(finding, upstream.file("pkg/core/block_pool.py"))
    assert span.qualname == "" and span.start <= 5 <= span.end


def test_find_pairs_one_per_twin_and_the_comment_is_shown(upstream, mini):
    """Pairs are de-duplicated per (minivllm def, upstream def); the mini side starts at its comment."""
    pairs = find_pairs(_citations(upstream), mini, MINI.split("\n"), upstream.file)
    got = [(p.mini.qualname, p.upstream.qualname) for p in pairs]
    assert got == [("Pool", "BlockPool"), ("Pool.take", "BlockPool.get_new_blocks")]
    assert pairs[1].mini.start == 10  # the anchor comment above the decorator is included


def test_broken_anchors_make_no_pair(upstream, mini):
    """An anchor to a missing file is not paired."""
    (a,) = scan_text("# upstream: pkg/gone.py:1 — Gone", "mini/m.py", python=True)
    finding = Finding(a, None, 1, None, None, "missing-file", "gone", None)
    assert find_pairs([Citation("mini/m.py", 0, finding, "")], mini, MINI.split("\n"), upstream.file) == []
