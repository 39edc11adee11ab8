"""Benchmark: the call graph of the whole pinned tree — time, edges, share of call sites resolved.

Run from the repository root (``annotate fetch`` first)::

    python bench/calls.py [--tree DIR]

The index is loaded from the warm cache first (timed apart), then the call graph is built.
Every call site lands in one of three bins: resolved to a definition in the tree, external
(a builtin, or a name from a package outside the tree), or unresolved (locals, parameters,
call results — what static reading cannot settle). There is no peer here: the figure is
reported for the record, with the bins so the share can be judged.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path("upstream"))
    args = parser.parse_args()
    from annotator import config, graphs
    from annotator.index import open_index

    started = time.perf_counter()
    files = open_index(args.tree, config.load().cache_dir).load_all()
    loaded = time.perf_counter()
    calls = graphs.call_graph(files)
    built = time.perf_counter()
    unresolved = calls.sites - calls.resolved - calls.external
    callers = sum(1 for n in calls.graph if calls.graph.nodes[n].get("caller"))
    print(f"tree: {args.tree} — {len(files)} files, {calls.sites} call sites, {callers} callers")
    print(f"index load (warm cache)   {loaded - started:6.2f} s")
    print(f"call graph build          {built - loaded:6.2f} s")
    print(f"edges                     {calls.graph.number_of_edges()}")
    print(f"resolved                  {calls.resolved:7d}  {calls.resolved / calls.sites:6.1%} of all sites")
    print(f"external                  {calls.external:7d}  {calls.external / calls.sites:6.1%}")
    print(f"unresolved                {unresolved:7d}  {unresolved / calls.sites:6.1%}")
    inside = calls.sites - calls.external
    print(f"resolved among sites not external: {calls.resolved / inside:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
