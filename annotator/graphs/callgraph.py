"""The call graph of a tree, read off the solved points-to sets, with a precision guard.

A site emits edges only when what its callee can be is known and small: the callee's value set
holds no unknown and at most :data:`MAX_TARGETS` definitions of the tree. A site with unknown
in its set, or with more candidates, is *ambiguous* (its candidates are listed, no edge drawn);
a site whose callee set is empty is *unresolved*. Nothing is guessed.

Names: a definition is ``module.qualname`` (lambdas ``outer.<lambda1>``, module-level code the
module itself); calls outside the tree keep their dotted name (``torch.cat``), builtins carry
the ``<builtin>.`` prefix (``<builtin>.len``, ``<builtin>.list.append``). Everything is sorted,
so the same tree gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx

from annotator.graphs import CallGraph, ModuleTable
from annotator.graphs.flow import compile_program
from annotator.graphs.program import Program
from annotator.graphs.solve import UNK
from annotator.records import FileIndex

MAX_TARGETS = 4  # a site naming more definitions of the tree than this is ambiguous


def program_of(files: Mapping[str, FileIndex], flows: Mapping[str, bytes]) -> Program:
    """The program of a tree (``flows``: path → marshalled flow), its constraints compiled."""
    table = ModuleTable.of(files)
    modules = {m: p for m, p in table.paths.items() if files[p].module == m}
    program = Program(modules, flows, table.packages)
    compile_program(program)
    return program


def solve(program: Program) -> CallGraph:
    """Run the worklist to its fixed point and classify every call site.

    Two rounds: first only what the program itself passes around; then each method whose
    receiver is still empty (nothing in the tree calls it: an entry point) gets an instance of
    its own class as ``self``, and the solve resumes. Seeding every method from the start would
    bind ``self`` to the defining class even where only subclasses ever arrive, and make
    ``super()`` and overridden methods look ambiguous.
    """
    s = program.s
    s.run()
    for node, value in s.seeds:
        if not s.pts[node]:
            s.add(node, value)
    s.run()
    return _assemble(program)


def external_name(dotted: str) -> str:
    """How a callee outside the tree is shown: builtins prefixed, ``()`` marking a call's result.

    ``numpy.zeros().sum`` is the ``sum`` of what ``numpy.zeros`` returns, ``x[]`` an element of
    ``x``: names we can vouch for, where a bare ``numpy.zeros.sum`` would invent a symbol.
    """
    return "<builtin>." + dotted[len("builtins."):] if dotted.startswith("builtins.") else dotted


def _assemble(p: Program) -> CallGraph:
    s = p.s
    edges: dict[tuple[str, str], list[int]] = {}
    unresolved: dict[str, set[str]] = {}
    ambiguous: dict[str, dict[str, tuple[str, ...]]] = {}
    unresolved_in: dict[str, int] = {}
    counts = {"resolved": 0, "external": 0, "ambiguous": 0, "unresolved": 0, "sites": 0}
    callers: set[int] = set()

    def name(target) -> str:
        return p.scopes[target].fqn if isinstance(target, int) else external_name(target)

    for site in [*s.sites, *s.implicit.values()]:
        caller_gid = p.caller(site.scope)
        caller = p.scopes[caller_gid].fqn
        callers.add(caller_gid)
        line, text = _line_text(p, site)
        fate = _fate(s, site)
        counted = site.implicit == ""
        if counted:
            counts["sites"] += 1
            counts[fate] += 1
        if counted and fate in ("unresolved", "ambiguous"):
            path = p.scopes[caller_gid].path
            unresolved_in[path] = unresolved_in.get(path, 0) + 1
        if fate == "unresolved":
            unresolved.setdefault(caller, set()).add(text)
        elif fate == "ambiguous":
            ambiguous.setdefault(caller, {})[text] = tuple(sorted(name(t) for t in site.targets))
        else:
            for target in site.targets:
                edges.setdefault((caller, name(target)), []).append(line)
    graph = _graph(p, edges, callers)
    return CallGraph(
        graph=graph,
        sites=counts["sites"],
        resolved=counts["resolved"],
        external=counts["external"],
        unresolved={c: tuple(sorted(t)) for c, t in sorted(unresolved.items())},
        ambiguous={c: dict(sorted(t.items())) for c, t in sorted(ambiguous.items())},
        n_ambiguous=counts["ambiguous"],
        n_unresolved=counts["unresolved"],
        unresolved_in=dict(sorted(unresolved_in.items())),
    )


def _fate(s, site) -> str:
    """"resolved" (an edge into the tree), "external", "ambiguous" or "unresolved"."""
    inside = [t for t in site.targets if isinstance(t, int)]
    unknown = site.callee is not None and UNK in s.pts[site.callee]
    if not site.targets:
        return "unresolved"
    if unknown or len(inside) > MAX_TARGETS:
        return "ambiguous"
    return "resolved" if inside else "external"


def _line_text(p: Program, site) -> tuple[int, str]:
    """The line and callee text a site is listed under (implicit ones: their origin's)."""
    key = site.key
    for _ in range(4):
        if isinstance(key[0], int):  # a call written in the source: (file, index)
                return p.file_sites[key[0]][1][key[1]]
        if key[0] not in ("callback", "partial"):
            return key[2], key[0]  # (kind, scope, line, ...): an implicit __iter__/__enter__
        key = key[1]
    return 0, "<call>"


def _graph(p: Program, edges: dict[tuple[str, str], list[int]], callers: set[int]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for gid, sc in enumerate(p.scopes):
        if sc.kind in ("function", "lambda") or gid in callers:
            graph.add_node(sc.fqn, path=sc.path, line=sc.line, external=False)
    for (a, b), lines in sorted(edges.items()):
        if b not in graph:
            graph.add_node(b, external=True)
        graph.add_edge(a, b, lines=sorted(lines))
    return graph
