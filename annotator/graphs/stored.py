"""The call graph of an indexed tree, kept in the index's cache so a warm run skips the solve.

The solve is a function of the files' contents and of our analysis code only, so its result is
keyed by both: the sha256 of every (path, digest) pair and of the source of the modules that
compute it. Any edit to the tree or to the analysis gives a new key; the old result is replaced.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import networkx as nx

from annotator.graphs import CallGraph, call_graph
from annotator.index import SymbolIndex

_NAME = "calls"


def tree_call_graph(index: SymbolIndex) -> CallGraph:
    """The call graph of ``index``'s tree: from the cache when unchanged, else solved and stored."""
    files = index.load_all()
    key = _key(files)
    stored = index.cache.read_result(_NAME, key)
    if isinstance(stored, tuple) and len(stored) == 9:
        try:
            return decode(stored)
        except (TypeError, ValueError):
            pass
    calls = call_graph(files, index.load_flows())
    index.cache.write_result(_NAME, key, encode(calls))
    return calls


@lru_cache(maxsize=1)
def _analysis_hash():
    """sha256 state over every module of the analysis, read once per process (they cannot change)."""
    h = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.read_bytes())
    return h


def _key(files) -> str:
    h = _analysis_hash().copy()
    for path, fi in sorted(files.items()):
        h.update(f"{path}\0{fi.module}\0{fi.digest}\n".encode())
    return h.hexdigest()[:32]


def encode(calls: CallGraph) -> tuple:
    """Plain tuples (marshal-able) holding everything :func:`decode` needs."""
    g = calls.graph
    nodes = tuple((n, d.get("path"), d.get("line", 0), bool(d.get("external")))
                  for n, d in g.nodes(data=True))
    edges = tuple((a, b, tuple(d["lines"])) for a, b, d in g.edges(data=True))
    ambiguous = {c: {t: tuple(v) for t, v in m.items()} for c, m in calls.ambiguous.items()}
    return (nodes, edges, calls.sites, calls.resolved, calls.external,
            {c: tuple(t) for c, t in calls.unresolved.items()}, ambiguous,
            (calls.n_ambiguous, calls.n_unresolved), dict(calls.unresolved_in))


def decode(stored: tuple) -> CallGraph:
    nodes, edges, sites, resolved, external, unresolved, ambiguous, counts, unresolved_in = stored
    graph = nx.DiGraph()
    for name, path, line, ext in nodes:
        attrs = {"external": ext}
        if not ext:
            attrs.update(path=path, line=line)
        graph.add_node(name, **attrs)
    graph.add_edges_from((a, b, {"lines": list(lines)}) for a, b, lines in edges)
    return CallGraph(graph, sites, resolved, external, unresolved, ambiguous, counts[0],
                     counts[1], unresolved_in)
