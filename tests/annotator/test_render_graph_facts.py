"""Tests for annotator.render.graph_facts: imports, importers and callers of a cited file."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.index import open_index
from annotator.render.graph_facts import facts_for
from annotator.render.model import Ref

TREE = Path(__file__).parent / "fixtures" / "render_project" / "tree"


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    """Facts of the toy tree's block pool and utils, from the real graphs."""
    index = open_index(TREE, tmp_path_factory.mktemp("cache"))
    return facts_for(index, ["pkg/core/block_pool.py", "pkg/core/utils.py", "README.md"])


def test_imports_and_importers_are_modules_with_paths(facts):
    """block_pool imports utils and is imported by the engine; both carry their files."""
    pool = facts["pkg/core/block_pool.py"]
    assert pool.imports == (Ref("pkg.core.utils", "pkg/core/utils.py", 0),)
    assert pool.importers == (Ref("pkg.engine", "pkg/engine.py", 0),)
    assert facts["pkg/core/utils.py"].importers == (Ref("pkg.core.block_pool", "pkg/core/block_pool.py", 0),)


def test_callers_carry_their_file_and_def_line(facts):
    """Each function's callers are named with the file and line of their definition."""
    utils = facts["pkg/core/utils.py"]
    assert utils.callers["take"] == (Ref("pkg.core.block_pool.BlockPool.get_new_blocks", "pkg/core/block_pool.py", 14),)
    pool = facts["pkg/core/block_pool.py"]
    assert pool.callers["make_pool"] == (Ref("pkg.engine.run", "pkg/engine.py", 12),)
    assert Ref("pkg.core.block_pool.make_pool", "pkg/core/block_pool.py", 27) in pool.callers["BlockPool.__init__"]


def test_files_that_are_not_python_have_no_facts(facts):
    """A cited README gets a source page but no graph facts."""
    assert "README.md" not in facts
