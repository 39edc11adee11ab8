"""What the import and call graphs say about the files that get source pages.

The graphs cover the whole tree; a source page needs three small slices of them: the modules a
file imports, the modules importing it, and for each definition in it the functions calling it.
Names become :class:`~annotator.render.model.Ref` records carrying file and line, so a page can
link each one to its own source page when the site has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from annotator import graphs
from annotator.graphs.stored import tree_call_graph
from annotator.index import SymbolIndex
from annotator.records import FileIndex
from annotator.render.model import FileFacts, Ref


def facts_for(index: SymbolIndex, paths: Iterable[str]) -> dict[str, FileFacts]:
    """Imports, importers and callers of each ``.py`` file among ``paths`` (loads the whole index)."""
    wanted = [p for p in paths if p.endswith(".py")]
    if not wanted:
        return {}
    files = index.load_all()
    imports = graphs.import_graph(files, externals=False)
    calls = tree_call_graph(index).graph
    return slice_graphs(files, wanted, imports, calls)


def slice_graphs(
    files: Mapping[str, FileIndex], paths: Iterable[str], imports: nx.DiGraph, calls: nx.DiGraph
) -> dict[str, FileFacts]:
    """The per-file slices of a module import graph and a function call graph.

    Args:
        files: the tree's index, path → FileIndex (for modules and def lines).
        paths: files that get a source page.
        imports: edge ``a → b`` when module ``a`` imports module ``b``; nodes carry ``path``.
        calls: edge ``f → g`` when function ``f`` calls ``g`` (dotted names); nodes carry ``path``.
    """
    lines = _DefLines(files)
    out: dict[str, FileFacts] = {}
    for path in paths:
        fi = files.get(path)
        if fi is None:
            continue
        callers: dict[str, tuple[Ref, ...]] = {}
        for sym in fi.symbols:
            name = f"{fi.module}.{sym.qualname}"
            if name in calls:
                found = sorted(calls.predecessors(name))
                if found:
                    callers[sym.qualname] = tuple(lines.ref(n, calls.nodes[n].get("path")) for n in found)
        out[path] = FileFacts(
            imports=_module_refs(imports, fi.module, forward=True),
            importers=_module_refs(imports, fi.module, forward=False),
            callers=callers,
        )
    return out


def _module_refs(graph: nx.DiGraph, module: str, *, forward: bool) -> tuple[Ref, ...]:
    if module not in graph:
        return ()
    found = graph.successors(module) if forward else graph.predecessors(module)
    return tuple(Ref(m, graph.nodes[m].get("path"), 0) for m in sorted(found))


class _DefLines:
    """Dotted function name + its file → Ref with the def line (a module-level caller: line 0)."""

    def __init__(self, files: Mapping[str, FileIndex]) -> None:
        self.files = files
        self.tables: dict[str, dict[str, int]] = {}

    def ref(self, dotted: str, path: str | None) -> Ref:
        fi = self.files.get(path) if path else None
        if fi is None:
            return Ref(dotted, path, 0)
        if path not in self.tables:
            self.tables[path] = {s.qualname: s.line for s in fi.symbols}
        qualname = dotted[len(fi.module) + 1 :] if dotted.startswith(fi.module + ".") else ""
        return Ref(dotted, path, self.tables[path].get(qualname, 0))
