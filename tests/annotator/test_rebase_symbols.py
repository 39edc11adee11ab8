"""Tests for annotator.rebase.symbols: the evidence chain that finds where a definition went."""

from __future__ import annotations

from pathlib import Path

from annotator.index import open_index
from annotator.rebase.symbols import (
    RENAME_THRESHOLD,
    SymbolLocator,
    cited_symbol,
    enclosing_symbol,
    label_parts,
    same_code,
    similarity,
)
from annotator.rebase.tree import TreeView
from annotator.records import FileIndex, Symbol


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def locator(tmp_path: Path, old: dict[str, str], new: dict[str, str]) -> SymbolLocator:
    cache = tmp_path / "cache"
    o = open_index(tree(tmp_path / "old", old), cache)
    n = open_index(tree(tmp_path / "new", new), cache)
    return SymbolLocator(TreeView(o), TreeView(n))


def sym(loc: SymbolLocator, path: str, qualname: str) -> Symbol:
    return next(s for s in loc.old.file(path).symbols if s.qualname == qualname)


BODY = "    total_value = compute_total(items)\n    return round(total_value, 2)\n"


def test_label_parts_drop_call_parens():
    """``A.b()`` and ``A.b`` name the same dotted parts."""
    assert label_parts("BlockPool.get_new_blocks()") == label_parts("BlockPool.get_new_blocks") == ["BlockPool", "get_new_blocks"]


def test_cited_symbol_is_innermost_and_accepts_module_prefix():
    """The innermost matching definition holding the line wins; a leading module tail is ignored."""
    outer = Symbol("Pool", "class", 1, 1, 10, 0, "")
    inner = Symbol("Pool.get", "method", 3, 3, 5, 0, "")
    fi = FileIndex("vllm/core/pool.py", "vllm.core.pool", "d", 10, "", (outer, inner), (), ())
    assert cited_symbol(fi, "Pool.get()", 4, None) == inner
    assert cited_symbol(fi, "pool.Pool.get", 4, None) == inner
    assert cited_symbol(fi, "Pool.get", 8, None) is None
    assert enclosing_symbol(fi, 8) == outer and enclosing_symbol(fi, 11) is None


def test_similarity_ignores_whitespace_and_own_name():
    """Two bodies that differ only in layout and in their own name are fully similar."""
    a = ["def old_name(items):", "    return  old_name(items[1:])"]
    b = ["def new_name(items):", "", "    return new_name(items[1:])"]
    assert similarity(a, b, "old_name", "new_name") == 1.0
    assert same_code(a, b, "old_name", "new_name")
    assert not same_code(a, ["def new_name(items):", "    return None"], "old_name", "new_name")


def test_same_file_same_qualname(tmp_path):
    """A definition still in its file is ``same`` with full confidence, even if its body changed."""
    loc = locator(tmp_path, {"m.py": "def f(items):\n" + BODY}, {"m.py": "\n\ndef f(items):\n    return 0\n"})
    m = loc.locate("m.py", sym(loc, "m.py", "f"))
    assert (m.how, m.path, m.symbol.line, m.confidence) == ("same", "m.py", 3, 1.0)


def test_moved_to_exactly_one_other_file(tmp_path):
    """Gone from its file and defined in exactly one other: ``moved-file``."""
    loc = locator(tmp_path, {"a/m.py": "def f(items):\n" + BODY}, {"a/m.py": "x = 1\n", "b/n.py": "def f(items):\n" + BODY})
    m = loc.locate("a/m.py", sym(loc, "a/m.py", "f"))
    assert (m.how, m.path) == ("moved-file", "b/n.py")


def test_moved_to_several_files_picks_most_similar(tmp_path):
    """Several new homes: the one whose body is most alike wins, with that similarity."""
    other = "def f(items):\n    return None\n"
    loc = locator(tmp_path, {"m.py": "def f(items):\n" + BODY},
                  {"m.py": "", "p.py": other, "q.py": "def f(items):\n" + BODY})
    m = loc.locate("m.py", sym(loc, "m.py", "f"))
    assert (m.how, m.path, m.confidence) == ("moved-file", "q.py", 1.0)


def test_renamed_in_sibling_module(tmp_path):
    """A new definition with the same body in a sibling module is the renamed one."""
    loc = locator(tmp_path, {"pkg/a.py": "def f(items):\n" + BODY, "pkg/b.py": ""},
                  {"pkg/a.py": "", "pkg/b.py": "def g(items):\n" + BODY})
    m = loc.locate("pkg/a.py", sym(loc, "pkg/a.py", "f"))
    assert (m.how, m.path, m.symbol.qualname) == ("renamed", "pkg/b.py", "g")
    assert m.confidence >= RENAME_THRESHOLD


def test_old_definition_is_not_a_rename_target(tmp_path):
    """A look-alike that already existed before is never taken for the renamed definition."""
    twin = "def twin(items):\n" + BODY
    loc = locator(tmp_path, {"m.py": "def f(items):\n" + BODY + "\n\n" + twin}, {"m.py": twin})
    m = loc.locate("m.py", sym(loc, "m.py", "f"))
    assert m.how == "missing" and any("twin" in c for c in m.candidates)


def test_deleted_is_missing_and_names_same_name_elsewhere(tmp_path):
    """A deleted method is ``missing``; a same-named definition elsewhere is listed first."""
    loc = locator(tmp_path, {"m.py": "class A:\n    def size(self):\n        return len(self.items)\n"},
                  {"m.py": "class A:\n    pass\n", "z/cfg.py": "class B:\n    def size(self):\n        return 3\n"})
    m = loc.locate("m.py", sym(loc, "m.py", "A.size"))
    assert m.how == "missing" and m.symbol is None
    assert m.candidates and m.candidates[0].startswith("z/cfg.py:2 — B.size")


def test_unrelated_new_definition_is_not_a_rename(tmp_path):
    """A new definition with an unrelated body is no successor; the name unused anywhere: ``removed``."""
    loc = locator(tmp_path, {"m.py": "def f(items):\n" + BODY}, {"m.py": "def other():\n    return 1\n"})
    m = loc.locate("m.py", sym(loc, "m.py", "f"))
    assert (m.how, m.symbol) == ("removed", None)


def test_unrelated_new_definition_while_name_still_used_is_missing(tmp_path):
    """When something still uses the old name, the job may live on: ``missing``, never ``removed``."""
    new = {"m.py": "def other():\n    return 1\n", "n.py": "x = f\n"}
    loc = locator(tmp_path, {"m.py": "def f(items):\n" + BODY, "n.py": ""}, new)
    m = loc.locate("m.py", sym(loc, "m.py", "f"))
    assert (m.how, m.symbol) == ("missing", None)
