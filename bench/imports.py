"""Benchmark: our import graph against grimp's direct-import graph of ``vllm``, from one run.

Run from the repository root (``annotate fetch`` first; grimp is in the dev extra)::

    python bench/imports.py [--tree DIR] [--package vllm]

grimp runs in a fresh interpreter with the tree first on ``sys.path`` and no grimp cache. Ours
is timed twice: building the graph from an already loaded index, and end to end from the warm
index cache (load + build). Edges are compared between modules of the package (grimp leaves
out external packages, so do we); every edge only one side has is printed with its file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

GRIMP = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import grimp
started = time.perf_counter()
graph = grimp.build_graph(sys.argv[2], cache_dir=None)
seconds = time.perf_counter() - started
edges = sorted([m, i] for m in graph.modules for i in graph.find_modules_directly_imported_by(m))
print(json.dumps({"seconds": seconds, "modules": len(graph.modules), "edges": edges,
                  "version": grimp.__version__}))
"""


def grimp_graph(tree: Path, package: str) -> dict:
    """grimp's modules and direct imports of ``package`` (a fresh interpreter, no cache)."""
    out = subprocess.run(
        [sys.executable, "-c", GRIMP, str(tree.resolve()), package],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def our_graph(tree: Path, cache: Path, package: str) -> tuple[set, float, float, int]:
    """Our package-internal edges, build seconds (from the index), end-to-end seconds, modules."""
    from annotator import graphs
    from annotator.index import open_index

    started = time.perf_counter()
    files = open_index(tree, cache).load_all()
    loaded = time.perf_counter()
    graph = graphs.import_graph(files)
    built = time.perf_counter()
    edges = {
        (a, b) for a, b in graph.edges
        if graphs.under(a, package) and graphs.under(b, package) and not graph.nodes[b]["external"]
    }
    modules = sum(1 for n in graph if graphs.under(n, package) and not graph.nodes[n]["external"])
    return edges, built - loaded, built - started, modules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path("upstream"))
    parser.add_argument("--package", default="vllm")
    args = parser.parse_args()
    from annotator import config

    cache = config.load().cache_dir
    our_graph(args.tree, cache, args.package)  # make sure the index cache is warm
    ours, build_s, total_s, n_ours = our_graph(args.tree, cache, args.package)
    peer = grimp_graph(args.tree, args.package)
    theirs = {tuple(e) for e in peer["edges"]}
    both = ours & theirs
    precision = len(both) / len(ours) if ours else 1.0
    recall = len(both) / len(theirs) if theirs else 1.0
    print(f"modules: ours {n_ours}, grimp {peer['modules']}; "
          f"edges: ours {len(ours)}, grimp {len(theirs)}, shared {len(both)}")
    print(f"precision {precision:.4%}   recall {recall:.4%}   (target >= 99.5% each)")
    print(f"ours  graph from the loaded index   {build_s:6.2f} s")
    print(f"ours  warm cache, load + build      {total_s:6.2f} s")
    print(f"peer  grimp {peer['version']} build_graph({args.package!r})  {peer['seconds']:6.2f} s")
    for a, b in sorted(ours - theirs):
        print(f"  only ours:  {a} -> {b}")
    for a, b in sorted(theirs - ours):
        print(f"  only grimp: {a} -> {b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
