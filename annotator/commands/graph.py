"""``annotate graph imports|calls``: the tree's import graph or call graph as JSON or DOT.

JSON is a mapping (sorted keys, sorted lists): for imports, each module of the tree → the tree
modules it imports; for calls, every function, method, lambda and calling module → the dotted
names of what it calls (leaves with ``[]``; builtins as ``<builtin>.len``, outside packages by
their own names, ``--internal-only`` drops both). ``--show-unresolved`` lists the sites with no
edge instead: unresolved ones and ambiguous ones with their candidates.
A one-line summary (how much resolved) goes to stderr so stdout stays machine-readable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from annotator.commands.index import call_graph_of, load_files, tree_or_fail
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


def run_calls(
    config: Config,
    fmt: str,
    root: str | None,
    tree: Path | None,
    *,
    internal_only: bool = False,
    show_unresolved: bool = False,
) -> int:
    """Print the call graph (nodes under ``root`` only, when given) and how much resolved.

    ``show_unresolved`` prints, instead of the graph, one JSON object: ``unresolved`` (caller →
    callee texts nothing was found for) and ``ambiguous`` (caller → text → candidates).
    """
    from annotator import graphs

    calls = call_graph_of(config, tree_or_fail(config, tree))
    if show_unresolved:
        report = {
            "unresolved": {c: list(t) for c, t in calls.unresolved.items() if graphs.under(c, root)},
            "ambiguous": {c: {t: list(v) for t, v in m.items()}
                          for c, m in calls.ambiguous.items() if graphs.under(c, root)},
        }
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    else:
        mapping = calls.mapping(root, internal_only=internal_only)
        _emit(mapping, fmt, "calls")
    n = calls.sites or 1
    stderr().print(
        f"{calls.graph.number_of_nodes()} nodes, {calls.graph.number_of_edges()} edges; "
        f"of {calls.sites} call sites {calls.resolved / n:.1%} resolved in the tree, "
        f"{calls.external / n:.1%} to builtins or outside packages, "
        f"{calls.n_ambiguous / n:.1%} ambiguous, {calls.n_unresolved / n:.1%} unresolved"
    )
    return 0


def _emit(mapping: dict[str, list[str]], fmt: str, name: str) -> None:
    from annotator import graphs

    text = graphs.to_dot(mapping, name) if fmt == "dot" else graphs.to_json(mapping)
    sys.stdout.write(text)
