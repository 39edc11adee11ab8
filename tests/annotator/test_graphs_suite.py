"""The call graph against hand-written expected graphs: one small program per capability.

Each case of ``fixtures/callgraph_suite/<case>/`` is a program and the graph Python would really
make when it runs (``expected.json``, PyCG's format: caller → callees). Every edge must match;
the same suite, scored as precision and recall, is what ``bench/calls.py`` prints.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from annotator import cli
from annotator.graphs.compare import score
from annotator.graphs.stored import tree_call_graph
from annotator.index import open_index

SUITE = Path(__file__).parent / "fixtures" / "callgraph_suite"
CASES = sorted(p.name for p in SUITE.iterdir() if (p / "expected.json").is_file())


def test_the_suite_covers_every_capability():
    """At least one program for each capability the call graph claims."""
    wanted = {"args", "assignments", "builtins", "classes", "decorators", "dicts", "direct_calls",
              "exceptions", "functions", "generators", "imports", "kwargs", "lambdas", "lists",
              "mro", "returns", "external"}
    assert all(any(case == w or case.startswith(w + "_") for case in CASES) for w in wanted)


@pytest.mark.parametrize("case", CASES)
def test_case_matches_its_expected_graph(case: str, tmp_path: Path):
    """No edge missing, no edge extra, against the graph written by hand for the program."""
    graph = tree_call_graph(open_index(SUITE / case / "program", tmp_path))
    expected = json.loads((SUITE / case / "expected.json").read_text())
    result = score(graph.mapping(), expected)
    assert (result.missing, result.extra) == ((), ())


def test_every_function_is_a_key_and_leaves_map_to_nothing(tmp_path: Path):
    """Functions nobody calls and that call nothing are keys with [] (a comparable graph)."""
    mapping = tree_call_graph(open_index(SUITE / "builtins_more" / "program", tmp_path)).mapping()
    assert mapping["main.show"] == []
    assert mapping["<builtin>.zip"] == []


def test_output_is_byte_identical_across_cold_runs(tmp_path: Path, capsys, monkeypatch):
    """Two cold runs (separate caches) of `graph calls --tree` print the same bytes."""
    tree = tmp_path / "tree"
    for case in ("mro", "decorators_factory", "imports_relative"):
        shutil.copytree(SUITE / case / "program", tree / case)
    out = []
    for n in range(2):
        monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / f"cache{n}"))
        assert cli.main(["graph", "calls", "--tree", str(tree)]) == 0
        out.append(capsys.readouterr().out)
    assert out[0] == out[1] and json.loads(out[0])


def test_internal_only_and_show_unresolved(tmp_path: Path, capsys, monkeypatch):
    """--internal-only drops builtins and outside names; --show-unresolved lists what has no edge."""
    tree = tmp_path / "tree"
    tree.mkdir()
    five = "".join(f"def {n}():\n    pass\n\n" for n in "abcde")
    (tree / "m.py").write_text(
        "import os\n\ndef f(x):\n    os.getcwd()\n    x.run()\n    g()\n\ndef g():\n    pass\n\n"
        f"{five}def h(k):\n    k()\n\nfor t in (a, b, c, d, e):\n    h(t)\n"
    )
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["graph", "calls", "--tree", str(tree), "--internal-only"]) == 0
    mapping = json.loads(capsys.readouterr().out)
    assert mapping["m.f"] == ["m.g"] and "os.getcwd" not in mapping
    assert cli.main(["graph", "calls", "--tree", str(tree), "--show-unresolved"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unresolved"] == {"m.f": ["x.run"]}
    assert report["ambiguous"] == {"m.h": {"k": ["m.a", "m.b", "m.c", "m.d", "m.e"]}}


def test_a_package_tree_names_its_modules_from_the_tree(tmp_path: Path, capsys, monkeypatch):
    """--tree pointing at a package (it has __init__.py) names modules pkg.mod, not mod."""
    tree = tmp_path / "pkg"
    tree.mkdir()
    (tree / "__init__.py").write_text("")
    (tree / "a.py").write_text("from pkg.b import helper\n\ndef run():\n    helper()\n")
    (tree / "b.py").write_text("def helper():\n    pass\n")
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["graph", "calls", "--tree", str(tree)]) == 0
    assert json.loads(capsys.readouterr().out)["pkg.a.run"] == ["pkg.b.helper"]
