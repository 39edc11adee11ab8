"""Tests for annotator.render.collect: citations resolved like verify does, grouped by file."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.index import open_index
from annotator.render.collect import ProjectFiles, by_target, page_citations, python_citations

PROJECT = Path(__file__).parent / "fixtures" / "render_project"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """The toy tree's index."""
    return open_index(PROJECT / "tree", tmp_path_factory.mktemp("cache"))


def test_page_citations_resolve_in_reading_order_with_excerpts(index):
    """Each anchor of a page becomes a citation numbered in order, resolved, with its sentence."""
    text = (PROJECT / "annotations" / "phase-01-pool" / "index.md").read_text()
    cites = page_citations("phase-01-pool/index.md", text, index, "annotations/phase-01-pool/index.md")
    assert [c.ordinal for c in cites] == list(range(len(cites)))
    assert all(c.finding.status == "ok" for c in cites)
    assert cites[0].finding.anchor.doc == "annotations/phase-01-pool/index.md"
    assert cites[0].excerpt.startswith("Pops blocks from the head of the free list.")
    table = next(c for c in cites if c.finding.anchor.text == "utils.py:11")
    assert table.finding.path == "pkg/core/utils.py" and "count_free" in table.excerpt


def test_broken_anchor_is_kept_with_its_status(index):
    """A citation of a missing file is a broken, unlinkable citation, not dropped."""
    (c,) = page_citations("p.md", "See `pkg/gone.py:3 — f()`.", index, "p.md")
    assert c.finding.status == "missing-file" and c.broken and not c.linkable


def test_python_citations_come_from_comments(index):
    """Anchor comments of a Python file are citations with the file as origin."""
    text = (PROJECT / "mini" / "block_pool.py").read_text()
    cites = python_citations("mini/block_pool.py", text, index)
    assert [(c.finding.path, c.finding.line) for c in cites] == [
        ("pkg/core/block_pool.py", 8),
        ("pkg/core/block_pool.py", 14),
    ]


def test_by_target_groups_linkable_citations_in_line_order(index):
    """Citations are grouped by cited file and sorted by line; unlinkable ones are left out."""
    cites = page_citations("p.md", "`pkg/core/utils.py:11` and `pkg/core/utils.py:4` and `pkg/zz.py:1`", index, "p.md")
    grouped = by_target(cites)
    assert list(grouped) == ["pkg/core/utils.py"]
    assert [c.finding.line for c in grouped["pkg/core/utils.py"]] == [4, 11]


def test_project_files_index_each_top_directory(tmp_path):
    """A project file is indexed inside its own top-level directory, not the whole project."""
    files = ProjectFiles(PROJECT, tmp_path)
    fi = files.file("mini/block_pool.py")
    assert fi is not None and any(s.qualname == "BlockPool.get_new_blocks" for s in fi.symbols)
    assert files.file("pyproject.toml") is None
