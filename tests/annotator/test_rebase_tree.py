"""Tests for annotator.rebase.tree: a tree's lines, sibling modules and definers, read lazily."""

from __future__ import annotations

from annotator.index import open_index
from annotator.rebase.tree import TreeView


def view(tmp_path):
    files = {
        "pkg/a.py": "class Pool:\n    async def get(self):\n        pass\n",
        "pkg/b.py": "x = 'def Pool'\n",
        "pkg/c.txt": "line one\r\nline two\n",
        "other/a.py": "def get():\n    pass\n",
    }
    for rel, text in files.items():
        (tmp_path / "t" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "t" / rel).write_bytes(text.encode())
    return TreeView(open_index(tmp_path / "t", tmp_path / "cache"), "1.0")


def test_lines_and_spans_are_one_based(tmp_path):
    """``span(path, 1, 2)`` is the first two lines; CR stays on its line (bytes are not rewritten)."""
    v = view(tmp_path)
    assert v.span("pkg/c.txt", 1, 2) == ["line one\r", "line two"]
    assert v.lines("missing.py") == [""]


def test_definers_find_def_lines_only(tmp_path):
    """Files defining a name at line start are found (async too); a mention in a string is not."""
    v = view(tmp_path)
    assert v.definers("Pool") == ["pkg/a.py"]
    assert v.definers("get") == ["other/a.py", "pkg/a.py"]
    assert v.definers("nothing") == []


def test_neighbours_and_same_basename(tmp_path):
    """Sibling modules share the directory; same-basename files are elsewhere in the tree."""
    v = view(tmp_path)
    assert v.neighbours("pkg/a.py") == ["pkg/b.py"]
    assert v.same_basename("pkg/a.py") == ["other/a.py"]
    assert v.has("pkg/c.txt") and v.file("pkg/c.txt") is None and v.file("pkg/a.py") is not None
