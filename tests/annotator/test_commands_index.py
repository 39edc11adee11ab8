"""CLI-level tests for `annotate index`, `annotate graph imports|calls` and `annotate map`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator import cli

PYPROJECT = """
[tool.annotate]
upstream_dir = "upstream"
map_subsystems = ["pkg/core"]
map_out = "MAP.md"
roles_file = "roles.toml"
"""
TREE = {
    "pkg/__init__.py": "",
    "pkg/core/__init__.py": '"""The core."""\n',
    "pkg/core/pool.py": "from pkg.core import util\n\nclass Pool:\n    def get(self):\n        return util.make()\n",
    "pkg/core/util.py": "def make():\n    return 1\n",
    "pkg/app.py": "from pkg.core.pool import Pool\n\ndef main():\n    Pool().get()\n",
    "pkg/broken.py": "def oops(:\n    pass\n",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project whose upstream/ is a small package tree, with its own cache."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "roles.toml").write_text('[roles]\n"pkg/core/pool.py" = "Hands out pools."\n')
    for rel, text in TREE.items():
        path = tmp_path / "upstream" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_index_stats_json_then_cached(project: Path, capsys):
    """--stats --format json reports every figure; a second run parses nothing."""
    assert cli.main(["index", "--stats", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["files"], first["parsed"], first["cache_hits"], first["errors"]) == (6, 6, 0, 1)
    assert first["error_files"] == ["pkg/broken.py"]
    assert first["symbols"] == 5 and first["imports"] == 2 and first["calls"] == 3
    assert cli.main(["index", "--stats", "--format", "json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["parsed"], second["cache_hits"]) == (0, 6)


def test_index_text_reports_and_warns_on_syntax_errors(project: Path, capsys):
    """Text output is a summary line (or the stats table); broken files are warned on stderr."""
    assert cli.main(["index"]) == 0
    out, err = capsys.readouterr()
    assert "indexed 6 files" in out and "5 symbols" in out
    assert "pkg/broken.py:1:" in err
    assert cli.main(["index", "--stats"]) == 0
    table = capsys.readouterr().out
    assert "cache hits" in table and "call sites" in table and "files parsed" in table


def test_missing_tree_is_exit_2(project: Path, capsys):
    """No upstream/ (or a --tree that does not exist) is a one-line error with exit 2."""
    assert cli.main(["index", "--tree", "nowhere"]) == 2
    assert "nowhere: no such tree" in capsys.readouterr().err


def test_graph_imports_json_dot_and_root(project: Path, capsys):
    """graph imports prints the internal edges; --root keeps only modules under it."""
    assert cli.main(["graph", "imports"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["pkg.app"] == ["pkg.core.pool"] and got["pkg.core.pool"] == ["pkg.core.util"]
    assert cli.main(["graph", "imports", "--root", "pkg.core", "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    assert '"pkg.core.pool" -> "pkg.core.util";' in dot and "pkg.app" not in dot


def test_graph_calls_on_any_tree(project: Path, capsys):
    """graph calls --tree works on a directory outside upstream/, named by its package."""
    other = project / "elsewhere" / "lib"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "m.py").write_text("def a():\n    b()\n\ndef b():\n    pass\n")
    assert cli.main(["graph", "calls", "--tree", str(other)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"lib.m.a": ["lib.m.b"], "lib.m.b": []}
    assert "of 1 call sites 100.0% resolved in the tree" in err


def test_graph_calls_default_tree(project: Path, capsys):
    """On upstream/, Pool().get() reaches the constructor (object's: Pool has no __init__) and get."""
    assert cli.main(["graph", "calls", "--root", "pkg"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["pkg.app.main"] == ["<builtin>.object.__init__", "pkg.core.pool.Pool.get"]
    assert got["pkg.core.pool.Pool.get"] == ["pkg.core.util.make"]


def test_map_writes_a_deterministic_file(project: Path, capsys):
    """map writes MAP.md for the configured subsystems; a second run writes identical bytes."""
    assert cli.main(["map"]) == 0
    first = (project / "MAP.md").read_text()
    assert "| `pkg/core/pool.py` | Hands out pools. | 1: `pkg.app` | 1: `pkg.app.main` |" in first
    assert "| `pkg/core/__init__.py` | The core. |" in first
    assert "pkg/core/util.py" in capsys.readouterr().err  # no role anywhere: warned
    assert cli.main(["map", "--out", "again.md"]) == 0
    assert (project / "again.md").read_text() == first


def test_map_with_dirs_and_a_bad_dir(project: Path, capsys):
    """DIR arguments replace the configured subsystems; a DIR not in the tree is exit 2."""
    assert cli.main(["map", "pkg", "--out", "pkg.md"]) == 0
    assert "## pkg\n" in (project / "pkg.md").read_text()
    assert cli.main(["map", "nope"]) == 2
    assert "nope: not a directory of the tree" in capsys.readouterr().err
