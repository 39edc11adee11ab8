"""Tests for the import graph, the call graph's assembly, and the JSON/DOT renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator import graphs
from annotator.index import open_index


def load(tmp_path: Path, files: dict[str, str]) -> dict:
    """Write a tree and return its whole index (path → FileIndex)."""
    root = tmp_path / "tree"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return open_index(root, tmp_path / "cache").load_all()


PKG = {
    "app/__init__.py": "from .core import engine\n",
    "app/core/__init__.py": "",
    "app/core/engine.py": "from ..util import helpers\nfrom . import sched\nimport numpy.linalg as la\n",
    "app/core/sched.py": "from app.core.engine import Engine\nfrom ...outside import x\n",
    "app/core/deep/leaf.py": "from ... import util\nfrom ..sched import *\n",
    "app/util/__init__.py": "NAME = 1\n",
    "app/util/helpers.py": "import app.util\nimport app._compiled\nfrom app.missing import thing\n",
}


def flows_of(tmp_path: Path) -> dict:
    """The value flow of the tree :func:`load` wrote (for the call graph)."""
    return open_index(tmp_path / "tree", tmp_path / "cache").load_flows()


def edges(graph) -> set[tuple[str, str]]:
    return set(graph.edges)


def test_relative_imports_resolve_at_every_level(tmp_path: Path):
    """One, two and three leading dots climb from the importing module's package."""
    g = graphs.import_graph(load(tmp_path, PKG))
    assert ("app.core.engine", "app.util.helpers") in edges(g)  # from ..util import helpers
    assert ("app.core.engine", "app.core.sched") in edges(g)  # from . import sched
    assert ("app.core.deep.leaf", "app.util") in edges(g)  # from ... import util
    assert ("app.core.deep.leaf", "app.core.sched") in edges(g)  # from ..sched import *
    assert ("app", "app.core.engine") in edges(g)  # package __init__: . is the package itself


def test_from_import_prefers_the_submodule_else_the_module(tmp_path: Path):
    """from a import b is module a.b when it exists, else module a."""
    g = graphs.import_graph(load(tmp_path, PKG))
    assert ("app.core.sched", "app.core.engine") in edges(g)  # Engine is a name of engine
    assert ("app.core.sched", "app.core.engine.Engine") not in g


def test_externals_and_absent_modules_are_leaves(tmp_path: Path):
    """External packages collapse to their top level; absent in-tree modules are missing leaves."""
    g = graphs.import_graph(load(tmp_path, PKG))
    assert g.nodes["numpy"] == {"external": True, "missing": False}
    assert ("app.core.engine", "numpy") in edges(g)
    assert g.nodes["app.missing"]["missing"] is True  # from app.missing import thing
    assert ("app.util.helpers", "app") in edges(g)  # import app._compiled → deepest ancestor
    assert ("app.util.helpers", "app.util") in edges(g)
    internal = graphs.import_graph(load(tmp_path, PKG), externals=False)
    assert "numpy" not in internal and "app.missing" not in internal


def test_imports_climbing_out_of_the_tree_are_dropped(tmp_path: Path):
    """A relative import above the top-level package yields no edge (Python refuses it too)."""
    g = graphs.import_graph(load(tmp_path, PKG))
    assert list(g.successors("app.core.sched")) == ["app.core.engine"]


def test_edges_record_import_lines(tmp_path: Path):
    """Each edge lists the lines of the import statements behind it."""
    g = graphs.import_graph(load(tmp_path, PKG))
    assert g.edges["app.core.engine", "app.core.sched"]["lines"] == [2]


def test_adjacency_filters_by_root_and_hides_externals(tmp_path: Path):
    """adjacency keeps internal nodes under the root, each with sorted successors."""
    g = graphs.import_graph(load(tmp_path, PKG))
    got = graphs.adjacency(g, "app.core")
    assert list(got) == sorted(got)
    assert got["app.core.engine"] == ["app.core.sched", "app.util.helpers"]
    assert "app.util" not in got and all("numpy" not in v for v in got.values())
    assert graphs.under("app.core.x", "app.core") and not graphs.under("app.corex", "app.core")


def test_json_and_dot_are_stable():
    """JSON is sorted with a trailing newline; DOT lists isolated nodes and every edge."""
    mapping = {"b": [], "a": ["b"]}
    assert json.loads(graphs.to_json(mapping)) == mapping
    assert graphs.to_json(mapping) == graphs.to_json(dict(reversed(mapping.items())))
    dot = graphs.to_dot(mapping, "g")
    assert '"a" -> "b";' in dot and '  "b";' in dot and dot.startswith('digraph "g" {')


def test_call_graph_counts_and_mapping(tmp_path: Path):
    """Sites split into resolved, external and unresolved; mapping lists every caller."""
    files = load(
        tmp_path,
        {
            "m.py": "import os\n\ndef f():\n    g()\n    os.getcwd()\n    len([])\n    x.y()\n\ndef g():\n    pass\n",
        },
    )
    calls = graphs.call_graph(files, flows_of(tmp_path))
    assert (calls.sites, calls.resolved, calls.external, calls.n_unresolved) == (4, 1, 2, 1)
    assert calls.unresolved == {"m.f": ("x.y",)}
    assert calls.mapping() == {
        "<builtin>.len": [], "m.f": ["<builtin>.len", "m.g", "os.getcwd"], "m.g": [], "os.getcwd": []
    }
    assert calls.mapping(internal_only=True) == {"m.f": ["m.g"], "m.g": []}
    assert calls.graph.nodes["m.g"]["path"] == "m.py"


@pytest.mark.upstream
def test_real_tree_imports_agree_with_known_edges(upstream_tree: Path, project_config):
    """On the pinned tree, kv_cache_coordinator imports block_pool and the graph covers vllm."""
    files = open_index(upstream_tree, project_config.cache_dir).load_all()
    g = graphs.import_graph(files)
    assert g.has_edge("vllm.v1.core.kv_cache_coordinator", "vllm.v1.core.block_pool")
    assert g.has_edge("vllm.v1.core.sched.scheduler", "vllm.v1.core.kv_cache_manager")
    assert sum(1 for n in g if graphs.under(n, "vllm") and not g.nodes[n]["external"]) == 1758
    calls = graphs.call_graph(files, open_index(upstream_tree, project_config.cache_dir).load_flows())
    assert "vllm.v1.core.block_pool.BlockPool.get_new_blocks" in set(
        calls.graph.successors("vllm.v1.core.single_type_kv_cache_manager.SingleTypeKVCacheManager.allocate_new_blocks")
    )
