"""``annotate graph imports|calls``: the tree's import graph or call graph as JSON or DOT.

JSON is a mapping (sorted keys, sorted lists): for imports, each module of the tree → the tree
modules it imports; for calls, each caller's dotted name → its resolved callees' dotted names.
A one-line summary (how much resolved) goes to stderr so stdout stays machine-readable.
"""

from __future__ import annotations

import sys
from pathlib import Path

from annotator.commands.index import load_files, tree_or_fail
from annotator.commands.output import stderr
from annotator.config import Config


def run_imports(config: Config, fmt: str, root: str | None, tree: Path | None) -> int:
    """Print the import graph (modules under ``root`` only, when given)."""
    from annotator import graphs

    graph = graphs.import_graph(load_files(config, tree_or_fail(config, tree)))
    mapping = graphs.adjacency(graph, root)
    if root is not None:
        mapping = {m: [t for t in ts if graphs.under(t, root)] for m, ts in mapping.items()}
    _emit(mapping, fmt, "imports")
    edges = sum(map(len, mapping.values()))
    stderr().print(f"{len(mapping)} modules, {edges} import edges")
    return 0


def run_calls(config: Config, fmt: str, root: str | None, tree: Path | None) -> int:
    """Print the call graph (callers under ``root`` only, when given) and how much resolved."""
    from annotator import graphs

    calls = graphs.call_graph(load_files(config, tree_or_fail(config, tree)))
    mapping = calls.mapping(root)
    _emit(mapping, fmt, "calls")
    share = calls.resolved / calls.sites if calls.sites else 0.0
    stderr().print(
        f"{len(mapping)} callers, {sum(map(len, mapping.values()))} edges; "
        f"{calls.resolved}/{calls.sites} call sites resolved ({share:.1%}), "
        f"{calls.external} to builtins or outside packages"
    )
    return 0


def _emit(mapping: dict[str, list[str]], fmt: str, name: str) -> None:
    from annotator import graphs

    text = graphs.to_dot(mapping, name) if fmt == "dot" else graphs.to_json(mapping)
    sys.stdout.write(text)
