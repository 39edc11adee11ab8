"""Tests for the lazy symbol index: listing, on-demand parsing, whole-tree search, the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.errors import InputError
from annotator.index import (
    count_lines,
    list_tree,
    module_name,
    open_index,
    package_prefix,
    symbols_containing,
)
from annotator.index.bulk import read_source


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``files`` (relpath → text) under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small tree: a package with modules, a README, and VCS/bytecode noise to skip."""
    return write_tree(
        tmp_path / "tree",
        {
            "pkg/__init__.py": "",
            "pkg/pool.py": "class Pool:\n    def get(self):\n        return 1\n\n\ndef get():\n    pass\n",
            "pkg/sub/pool.py": "def other():\n    pass\n",
            "README.md": "line one\nline two\nno newline",
            ".git/config": "[core]\n",
            "pkg/__pycache__/pool.cpython-311.pyc": "junk",
        },
    )


def test_paths_list_every_file_but_vcs_and_bytecode(tree: Path, tmp_path: Path):
    """paths holds every file (any extension) as posix relpaths, without .git/ or __pycache__/."""
    index = open_index(tree, tmp_path / "cache")
    assert index.paths == frozenset(
        {"pkg/__init__.py", "pkg/pool.py", "pkg/sub/pool.py", "README.md"}
    )
    assert list_tree(tree) == sorted(index.paths)


def test_listing_follows_file_links_but_not_directory_links(tmp_path: Path):
    """A link to a file is listed, a dangling link is not, a linked directory is not entered."""
    root = write_tree(tmp_path / "t", {"real/a.py": "x = 1\n"})
    (root / "alias.py").symlink_to(root / "real/a.py")
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    (root / "loop").symlink_to(root)
    assert list_tree(root) == ["alias.py", "real/a.py"]


def test_listing_skips_file_links_out_of_the_tree(tmp_path: Path):
    """A link to a file outside the tree (/etc/passwd, a sibling folder) is never listed or read."""
    outside = tmp_path / "secret.py"
    outside.write_text("password = 1\n")
    root = write_tree(tmp_path / "t", {"a.py": "x = 1\n"})
    (root / "leak.py").symlink_to(outside)
    (root / "passwd").symlink_to("/etc/passwd")
    assert list_tree(root) == ["a.py"]
    assert open_index(root, tmp_path / "cache").load_all().keys() == {"a.py"}


def test_unreadable_source_is_an_input_error(tmp_path: Path):
    """A path that cannot be read raises InputError naming it (the CLI shows one line, exit 2)."""
    (tmp_path / "pkg.py").mkdir()
    with pytest.raises(InputError, match="pkg.py: cannot read"):
        read_source(tmp_path, "pkg.py")


def test_file_is_lazy_and_only_for_python(tree: Path, tmp_path: Path):
    """file() parses just the file asked for, and returns None for other or absent files."""
    index = open_index(tree, tmp_path / "cache")
    fi = index.file("pkg/pool.py")
    assert fi is not None and fi.module == "pkg.pool"
    assert [s.qualname for s in fi.symbols] == ["Pool", "Pool.get", "get"]
    assert index.file("README.md") is None
    assert index.file("pkg/missing.py") is None
    assert (index.stats.files, index.stats.parsed) == (1, 1)


def test_second_open_reads_the_cache(tree: Path, tmp_path: Path):
    """A file parsed once is a cache hit for the next index over the same bytes."""
    first = open_index(tree, tmp_path / "cache").file("pkg/pool.py")
    again = open_index(tree, tmp_path / "cache")
    assert again.file("pkg/pool.py") == first
    assert (again.stats.cache_hits, again.stats.parsed) == (1, 0)


def test_editing_one_file_reparses_exactly_that_file(tmp_path: Path):
    """After a full load, changing one file's bytes costs one parse; the rest come from cache."""
    files = {f"pkg/m{i:02d}.py": f"def f{i}():\n    return {i}\n" for i in range(60)}
    root = write_tree(tmp_path / "big", files)
    cold = open_index(root, tmp_path / "cache", jobs=2)
    assert len(cold.load_all()) == 60
    assert (cold.stats.parsed, cold.stats.cache_hits) == (60, 0)
    (root / "pkg/m07.py").write_text("def renamed():\n    return 7\n")
    warm = open_index(root, tmp_path / "cache", jobs=2)
    loaded = warm.load_all()
    assert (warm.stats.parsed, warm.stats.cache_hits) == (1, 59)
    assert [s.qualname for s in loaded["pkg/m07.py"].symbols] == ["renamed"]


def test_lazy_file_is_served_by_the_pack_after_a_bulk_load(tree: Path, tmp_path: Path):
    """Once one index loaded the whole tree, another index's file() parses nothing."""
    open_index(tree, tmp_path / "cache").load_all()
    lazy = open_index(tree, tmp_path / "cache")
    assert lazy.file("pkg/sub/pool.py").symbols[0].qualname == "other"
    assert (lazy.stats.cache_hits, lazy.stats.parsed) == (1, 0)


def test_load_all_after_file_counts_each_file_once(tree: Path, tmp_path: Path):
    """Files already loaded lazily are neither re-parsed nor double-counted by load_all."""
    index = open_index(tree, tmp_path / "cache")
    index.file("pkg/pool.py")
    assert sorted(index.load_all()) == ["pkg/__init__.py", "pkg/pool.py", "pkg/sub/pool.py"]
    assert (index.stats.files, index.stats.parsed + index.stats.cache_hits) == (3, 3)


def test_find_symbol_matches_whole_dotted_suffixes(tree: Path, tmp_path: Path):
    """A label matches qualnames ending with its dotted parts; () is ignored; partial words don't."""
    index = open_index(tree, tmp_path / "cache")
    assert [(p, s.qualname) for p, s in index.find_symbol("get")] == [
        ("pkg/pool.py", "Pool.get"),
        ("pkg/pool.py", "get"),
    ]
    assert [s.qualname for _, s in index.find_symbol("Pool.get()")] == ["Pool.get"]
    assert index.find_symbol("et") == []
    assert index.find_symbol("Other.get") == []


def test_by_basename_and_line_count(tree: Path, tmp_path: Path):
    """by_basename lists every same-named file, sorted; line_count works for any file."""
    index = open_index(tree, tmp_path / "cache")
    assert index.by_basename("pool.py") == ["pkg/pool.py", "pkg/sub/pool.py"]
    assert index.by_basename("nope.py") == []
    assert index.line_count("README.md") == 3
    assert index.line_count("pkg/pool.py") == 7
    assert index.line_count("absent.txt") == 0
    assert count_lines(b"") == 0 and count_lines(b"a\n") == 1


def test_symbols_containing_is_outermost_first(tmp_path: Path):
    """Every definition whose span holds the line is returned, outermost first."""
    root = write_tree(
        tmp_path / "t",
        {"m.py": "class A:\n    @dec\n    def f(self):\n        def g():\n            pass\n"},
    )
    fi = open_index(root, tmp_path / "cache").file("m.py")
    assert [s.qualname for s in symbols_containing(fi, 5)] == ["A", "A.f", "A.f.g"]
    assert [s.qualname for s in symbols_containing(fi, 2)] == ["A", "A.f"]
    assert symbols_containing(fi, 9) == []


def test_module_names_follow_packages(tmp_path: Path):
    """__init__ names its package, and a root that is itself a package prefixes its modules."""
    assert module_name("a/b/__init__.py") == "a.b"
    assert module_name("a/b/c.py") == "a.b.c"
    assert module_name("c.py", "annotator") == "annotator.c"
    root = write_tree(tmp_path / "mypkg", {"__init__.py": "", "core.py": ""})
    assert package_prefix(root) == "mypkg"
    assert package_prefix(tmp_path) == ""
    index = open_index(root, tmp_path / "cache")
    assert index.file("core.py").module == "mypkg.core"
    assert index.modules() == {"mypkg": "__init__.py", "mypkg.core": "core.py"}


@pytest.mark.upstream
def test_real_tree_facts(upstream_tree: Path, project_config):
    """On the pinned tree: get_new_blocks' span, find_symbol, and the tree's size."""
    index = open_index(upstream_tree, project_config.cache_dir)
    fi = index.file("vllm/v1/core/block_pool.py")
    sym = next(s for s in fi.symbols if s.qualname == "BlockPool.get_new_blocks")
    assert (sym.kind, sym.line, sym.end, sym.doc_end) == ("method", 333, 363, 343)
    assert sym.summary == "Get new blocks from the free block pool."
    hits = index.find_symbol("BlockPool.get_new_blocks")
    assert [(p, s.line) for p, s in hits] == [("vllm/v1/core/block_pool.py", 333)]
    assert len(index.load_all()) == 3289
    assert index.stats.errors == 0
