"""Import graph and call graph of an indexed tree (networkx), and their JSON/DOT renderings.

Both graphs are built from :class:`annotator.index.SymbolIndex` records only; no file is read
again. Names are dotted: a module is ``pkg.mod`` (a package is its ``__init__``), a function is
``pkg.mod.Class.method`` (module name + qualname, see :mod:`annotator.records`).

Import rules (they mirror what Python does, and agree edge for edge with grimp on the pinned
tree): a relative import is resolved against the importing module's package; ``import a.b``
imports module ``a.b`` (absent from the tree, e.g. a compiled extension: its deepest ancestor
that is there, since the statement runs every ancestor package); ``from a import b`` imports
module ``a.b`` when the tree has it, else module ``a``. A ``from`` import of a module of the
tree's packages that has no ``.py`` file is a ``missing`` leaf; any other target outside the
tree is an external package, a leaf named by its top-level package. Leaves are optional.

The call graph is a whole-program points-to solve (:mod:`annotator.graphs.callgraph`); what
cannot be resolved honestly stays unresolved or ambiguous and is counted, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx

from annotator.index.cache import gc_paused
from annotator.records import FileIndex, RawImport


@dataclass(frozen=True)
class ModuleTable:
    """The tree's modules: dotted name → relpath, and which of them are packages."""

    paths: Mapping[str, str]
    packages: frozenset[str]

    @classmethod
    def of(cls, files: Mapping[str, FileIndex]) -> ModuleTable:
        """Table of every indexed file; a package's ``__init__`` wins over a same-named module."""
        paths: dict[str, str] = {}
        packages = set()
        for path, fi in sorted(files.items()):
            is_pkg = path.endswith("/__init__.py") or path == "__init__.py"
            if is_pkg:
                packages.add(fi.module)
            if fi.module not in paths or is_pkg:
                paths[fi.module] = path
        return cls(paths, frozenset(packages))

    def package_of(self, module: str) -> str:
        """The package a module's relative imports start from (a package is its own)."""
        return module if module in self.packages else module.rpartition(".")[0]

    def absolute(self, module: str, imp: RawImport) -> str | None:
        """The dotted base module of an import, relative levels applied; None if it climbs out."""
        if imp.level == 0:
            return imp.module
        base = self.package_of(module)
        for _ in range(imp.level - 1):
            base = base.rpartition(".")[0]
        if not base:
            return None  # climbs above the top-level package: Python refuses it too
        return f"{base}.{imp.module}" if imp.module else base

    def targets(self, module: str, imp: RawImport) -> list[str]:
        """Modules one import statement imports: tree modules, missing ones, external packages."""
        base = self.absolute(module, imp)
        if base is None:
            return []
        if not imp.names:
            return [self.nearest(base)]
        out = []
        for name, _alias in imp.names:
            sub = f"{base}.{name}"
            out.append(sub if name != "*" and sub in self.paths else self.classify(base))
        return out

    def nearest(self, dotted: str) -> str:
        """Target of ``import a.b.c``: the module, else its longest ancestor in the tree.

        The statement binds ``a`` and runs every ancestor package, so when ``a.b.c`` is absent
        (a compiled extension) the importer still depends on the deepest ancestor that exists.
        """
        name = dotted
        while name and name not in self.paths:
            name = name.rpartition(".")[0]
        return name or self.classify(dotted)

    def classify(self, dotted: str) -> str:
        """The node an imported module maps to: itself when the tree has it (or when it lies
        inside a package of the tree but is absent — a compiled or generated module, kept as a
        ``missing`` leaf), else its external top-level package (``numpy.linalg`` → ``numpy``)."""
        if dotted in self.paths or dotted.partition(".")[0] in self.paths:
            return dotted
        return dotted.partition(".")[0]


def import_graph(files: Mapping[str, FileIndex], *, externals: bool = True) -> nx.DiGraph:
    """Module → module edges of a tree; edge attribute ``lines`` lists the importing lines.

    Internal nodes carry ``path``. Leaves outside the tree carry ``external=True``: external
    packages, and modules of the tree's own packages that are not there as ``.py`` files
    (compiled extensions, generated files) with ``missing=True`` too; ``externals=False`` leaves
    both out. Self-imports (``from . import x`` naming the package itself) are dropped.
    """
    with gc_paused():
        return _import_graph(files, externals)


def _import_graph(files: Mapping[str, FileIndex], externals: bool) -> nx.DiGraph:
    table = ModuleTable.of(files)
    edges: dict[tuple[str, str], list[int]] = {}
    for path, fi in files.items():
        if table.paths.get(fi.module) != path:
            continue  # a module shadowed by a same-named package is not importable
        for imp in fi.imports:
            for target in table.targets(fi.module, imp):
                if target != fi.module and (externals or target in table.paths):
                    edges.setdefault((fi.module, target), []).append(imp.line)
    graph = nx.DiGraph()
    graph.add_nodes_from((m, {"path": p, "external": False}) for m, p in table.paths.items())
    for _, target in edges:
        if target not in table.paths:
            missing = target.partition(".")[0] in table.paths
            graph.add_node(target, external=True, missing=missing)
    graph.add_edges_from((src, dst, {"lines": lines}) for (src, dst), lines in edges.items())
    return graph


@dataclass(frozen=True)
class CallGraph:
    """Caller → callee edges (dotted names, edge attribute ``lines``) and the fate of every site.

    ``sites`` (calls written in the source) = ``resolved`` (an edge into the tree) + ``external``
    (builtins, packages outside the tree) + ``n_ambiguous`` + ``n_unresolved``. ``unresolved``
    maps each caller to the callee texts nothing was found for; ``ambiguous`` maps it to
    {callee text: candidates} where the candidates were too many or mixed with unknown.
    ``unresolved_in`` counts, per file, its sites that got no edge (unresolved or ambiguous). Nodes: every function, method, lambda
    and calling module of the tree (``path``, ``line``), and each callee outside it
    (``external=True``). Rules: :mod:`annotator.graphs.callgraph`.
    """

    graph: nx.DiGraph
    sites: int
    resolved: int
    external: int
    unresolved: Mapping[str, tuple[str, ...]]
    ambiguous: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    n_ambiguous: int = 0
    n_unresolved: int = 0
    unresolved_in: Mapping[str, int] = field(default_factory=dict)

    def mapping(self, root: str | None = None, *, internal_only: bool = False) -> dict[str, list[str]]:
        """Every node under ``root`` → its sorted callees (leaves too, with ``[]``).

        ``internal_only`` drops builtins and names outside the tree, as keys and as callees.
        """
        return adjacency(self.graph, root, internal=internal_only)


def call_graph(files: Mapping[str, FileIndex], flows: Mapping[str, bytes]) -> CallGraph:
    """The whole program's call graph from the index and each file's value flow.

    ``flows`` is :meth:`annotator.index.SymbolIndex.load_flows`' result (path → marshalled
    flow); :func:`annotator.graphs.stored.tree_call_graph` wraps both and caches the result.
    """
    from annotator.graphs import callgraph

    with gc_paused():
        return callgraph.solve(callgraph.program_of(files, flows))


def under(name: str, root: str | None) -> bool:
    """True when dotted ``name`` is ``root`` or inside it (everything when root is None)."""
    return root is None or name == root or name.startswith(root + ".")


def adjacency(graph: nx.DiGraph, root: str | None = None, *, internal: bool = True) -> dict[str, list[str]]:
    """Sorted mapping node → sorted successors, for nodes under ``root``.

    With ``internal`` (the default) only nodes without ``external=True`` appear, on either side.
    """

    def keep(node: str) -> bool:
        return not (internal and graph.nodes[node].get("external"))

    return {
        node: sorted(t for t in graph.successors(node) if keep(t))
        for node in sorted(graph.nodes)
        if under(node, root) and keep(node)
    }


def to_json(mapping: Mapping[str, list[str]]) -> str:
    """Stable JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(mapping, indent=2, sort_keys=True) + "\n"


def to_dot(mapping: Mapping[str, list[str]], name: str) -> str:
    """Graphviz DOT of a mapping; nodes with no edges are listed so nothing silently vanishes."""
    lines = [f"digraph {json.dumps(name)} {{", "  rankdir=LR;"]
    for node in sorted(mapping):
        if not mapping[node]:
            lines.append(f"  {json.dumps(node)};")
        for target in mapping[node]:
            lines.append(f"  {json.dumps(node)} -> {json.dumps(target)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
