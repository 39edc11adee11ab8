"""Tests for MAP.md: roles (docstring, role file, missing), importers, callers, diagram, stability."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from annotator import graphs, mapdoc
from annotator.errors import ConfigError
from annotator.index import open_index

TREE = {
    "eng/__init__.py": "",
    "eng/core.py": '"""Runs the engine loop. More text."""\nfrom eng.util import tick\n\ndef step():\n    tick()\n',
    "eng/util.py": "def tick():\n    pass\n",
    "core/blocks.py": "from eng import core\n\ndef use():\n    core.step()\n",
    "tests/test_core.py": "from eng.core import step\n\ndef test_it():\n    step()\n",
}


@pytest.fixture
def data(tmp_path: Path) -> mapdoc.MapData:
    """The map of subsystems eng and core, with a role sentence for eng/util.py only."""
    root = tmp_path / "tree"
    for rel, text in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    index = open_index(root, tmp_path / "cache")
    files = index.load_all()
    roles = {"eng/util.py": "Small | helpers."}
    calls = graphs.call_graph(files, index.load_flows())
    return mapdoc.build_map(files, ("eng", "core/"), roles, graphs.import_graph(files), calls)


def rows(data: mapdoc.MapData) -> dict[str, mapdoc.FileRow]:
    return {r.path: r for rs in data.rows.values() for r in rs}


def test_roles_come_from_docstring_then_role_file_then_missing(data):
    """Docstring first sentence wins; else our sentence; else the row is marked missing."""
    r = rows(data)
    assert (r["eng/core.py"].role, r["eng/core.py"].role_source) == ("Runs the engine loop.", "docstring")
    assert (r["eng/util.py"].role, r["eng/util.py"].role_source) == ("Small | helpers.", "roles")
    assert r["core/blocks.py"].role_source == "missing"
    assert set(data.missing) == {"eng/__init__.py", "core/blocks.py"}


def test_importers_and_callers_are_counted_and_ranked(data):
    """Counts cover every importer/caller outside the file; the home package ranks first."""
    core = rows(data)["eng/core.py"]
    assert core.n_importers == 2
    assert core.importers == ("core.blocks", "tests.test_core")
    assert core.n_callers == 2
    assert core.callers == ("core.blocks.use", "tests.test_core.test_it")
    util = rows(data)["eng/util.py"]
    assert (util.n_callers, util.callers) == (1, ("eng.core.step",))


def test_only_subsystem_files_get_rows(data):
    """Files outside the chosen subsystems (tests/) have no row; rows are sorted by path."""
    assert [r.path for r in data.rows["eng"]] == ["eng/__init__.py", "eng/core.py", "eng/util.py"]
    assert [r.path for r in data.rows["core"]] == ["core/blocks.py"]


def test_diagram_counts_imports_between_subsystems(data):
    """The mermaid diagram has one edge per subsystem pair, labelled with module edges."""
    assert data.links == {("core", "eng"): 1}
    text = mapdoc.render(data, "the test tree")
    assert "```mermaid" in text and "  s1 -->|1| s0" in text


def test_render_is_deterministic_and_escapes_pipes(data):
    """Rendering twice gives the same text; a | inside a role cannot break the table."""
    text = mapdoc.render(data, "the test tree")
    assert text == mapdoc.render(data, "the test tree")
    assert "Small \\| helpers." in text
    assert "| `eng/core.py` | Runs the engine loop. | 2: `core.blocks`, `tests.test_core` |" in text
    assert mapdoc.MISSING in text


def test_subsystem_of_picks_the_most_specific():
    """A file in nested subsystems belongs to the deepest one."""
    subs = ("vllm/v1", "vllm/v1/core")
    assert mapdoc.subsystem_of("vllm/v1/core/x.py", subs) == "vllm/v1/core"
    assert mapdoc.subsystem_of("vllm/v1/y.py", subs) == "vllm/v1"
    assert mapdoc.subsystem_of("vllm/v10/y.py", subs) is None


def test_read_roles(tmp_path: Path):
    """The [roles] table is read (whitespace collapsed); a missing file is empty; bad TOML is a ConfigError."""
    good = tmp_path / "roles.toml"
    good.write_text(textwrap.dedent('[roles]\n"a/b.py" = "Does   a thing."\n'))
    assert mapdoc.read_roles(good) == {"a/b.py": "Does a thing."}
    assert mapdoc.read_roles(tmp_path / "absent.toml") == {}
    bad = tmp_path / "bad.toml"
    bad.write_text("[roles]\n'a' = 3\n")
    with pytest.raises(ConfigError):
        mapdoc.read_roles(bad)


@pytest.mark.upstream
def test_committed_map_is_fresh(upstream_tree: Path, project_config):
    """MAP.md at the repository root is what `annotate map` generates for the pinned tree now."""
    from annotator import pin

    from annotator.graphs.stored import tree_call_graph

    index = open_index(upstream_tree, project_config.cache_dir)
    files = index.load_all()
    roles = mapdoc.read_roles(project_config.roles_file)
    source = mapdoc.source_label(pin.read(project_config.pin_file))
    calls = tree_call_graph(index)
    _, text = mapdoc.generate(files, project_config.map_subsystems, roles, source, calls)
    committed = project_config.map_out.read_text("utf-8")
    assert committed == text, "MAP.md is stale: regenerate it with `annotate map`"


def test_rows_count_the_call_sites_left_without_an_edge(tmp_path: Path):
    """A file's row counts its unresolved and ambiguous call sites; the table shows the column."""
    root = tmp_path / "tree"
    (root / "eng").mkdir(parents=True)
    five = "".join(f"def f{i}():\n    pass\n\n" for i in range(5))
    (root / "eng" / "run.py").write_text(
        f'"""Runs."""\n{five}def go(x, k):\n    x.missing()\n    k()\n    f0()\n\n'
        "for fn in (f0, f1, f2, f3, f4):\n    go(None, fn)\n"
    )
    index = open_index(root, tmp_path / "cache")
    files = index.load_all()
    calls = graphs.call_graph(files, index.load_flows())
    data, text = mapdoc.generate(files, ("eng",), {}, "a tree", calls)
    assert rows(data)["eng/run.py"].unresolved == 2  # x.missing() unresolved, k() ambiguous
    assert "| file | role | importers | callers | unresolved |" in text
    assert text.rstrip().endswith("| 2 |")
