"""Benchmark: the call graph — accuracy on our suite, coverage and cost on the pinned tree.

Run from the repository root (``annotate fetch`` first)::

    python bench/calls.py [--tree DIR] [--runs N] [--before REV]

Prints, from one run:

* precision and recall per capability on ``tests/annotator/fixtures/callgraph_suite`` (small
  programs with hand-written expected graphs), against the goals 0.99 / 0.95;
* on the tree, the share of call sites resolved into the tree, to builtins or outside packages,
  ambiguous and unresolved — ours beside the call graph of ``--before`` (default: the last commit
  before the points-to analysis, the "today" of issue 16), whose code is checked out of git into
  a temporary directory and run the same way;
* the hand-judged spot-check samples of in-tree edges on the tree (a fixture, judged once);
* cold (empty cache: index, flow, solve) and warm (everything cached) wall time and peak RSS of
  both, each in a fresh interpreter; warm runs alternate ours/before, median of N with min-max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

SUITE = Path("tests/annotator/fixtures/callgraph_suite")
SPOTCHECK = Path("tests/annotator/fixtures/callgraph_spotcheck.json")
BEFORE = "46b895a"  # the last commit with the dotted-name resolver
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from annotator import graphs
from annotator.index import open_index
tree, cache, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
index = open_index(tree, cache)
if mode == "ours":
    from annotator.graphs.stored import tree_call_graph
    calls = tree_call_graph(index)
    ambiguous, unresolved = calls.n_ambiguous, calls.n_unresolved
else:
    calls = graphs.call_graph(index.load_all())
    ambiguous, unresolved = 0, calls.sites - calls.resolved - calls.external
seconds = time.perf_counter() - started
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "rss_mb": me.ru_maxrss / 1024,
                  "workers_rss_mb": kids.ru_maxrss / 1024, "cpu": me.ru_utime + me.ru_stime,
                  "sites": calls.sites, "resolved": calls.resolved, "external": calls.external,
                  "ambiguous": ambiguous, "unresolved": unresolved,
                  "edges": calls.graph.number_of_edges()}))
"""


def suite_scores() -> dict[str, tuple[int, int, int]]:
    """category → (true positives, found, expected) summed over its programs."""
    from annotator.graphs.compare import score
    from annotator.graphs.stored import tree_call_graph
    from annotator.index import open_index

    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    with tempfile.TemporaryDirectory(prefix="annotate-suite-") as tmp:
        for case in sorted(p for p in SUITE.iterdir() if (p / "expected.json").is_file()):
            graph = tree_call_graph(open_index(case / "program", Path(tmp)))
            result = score(graph.mapping(), json.loads((case / "expected.json").read_text()))
            category = _category(case.name)
            for i, n in enumerate((result.true_positives, result.found, result.expected)):
                out[category][i] += n
    return {k: tuple(v) for k, v in sorted(out.items())}


def _category(name: str) -> str:
    return "direct_calls" if name.startswith("direct") else name.split("_")[0]


def run_child(tree: Path, cache: Path, mode: str, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # run from the cache's folder, so the working tree's annotator/ cannot shadow the old one
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree.resolve()), str(cache), mode],
                          capture_output=True, text=True, env=env, cwd=cache.parent)
    if done.returncode:
        raise SystemExit(f"{mode} run failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def checkout(rev: str, into: Path) -> None:
    """The ``annotator`` package as it was at ``rev`` (git archive, no working-tree change)."""
    archive = subprocess.run(["git", "archive", rev, "annotator"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def print_suite() -> None:
    scores = suite_scores()
    print("suite (tests/annotator/fixtures/callgraph_suite), goal precision >= 0.99, recall >= 0.95")
    for category, (tp, found, expected) in scores.items():
        print(f"  {category:13} precision {tp / found if found else 1:5.3f}  "
              f"recall {tp / expected if expected else 1:5.3f}  ({expected} expected edges)")
    tp, found, expected = (sum(v[i] for v in scores.values()) for i in range(3))
    print(f"  {'all':13} precision {tp / found:5.3f}  recall {tp / expected:5.3f}  "
          f"({expected} edges in {len(scores)} categories)")


def print_spotcheck() -> None:
    """The hand-judged samples of in-tree edges (judged once, kept as a test fixture)."""
    edges = json.loads(SPOTCHECK.read_text())["edges"]
    print("spot-check of in-tree edges on the tree, judged by reading the code "
          "(tests/annotator/fixtures/callgraph_spotcheck.json)")
    for n in sorted({e["sample"] for e in edges}):
        sample = [e for e in edges if e["sample"] == n]
        right = sum(e["verdict"] == "right" for e in sample)
        still = sum(e.get("open", False) for e in sample)
        print(f"  sample {n}: {right}/{len(sample)} right ({still} wrong edge(s) still emitted)")


def print_shares(name: str, r: dict) -> None:
    n = r["sites"]
    print(f"  {name:7} {n} sites: in-tree {r['resolved'] / n:6.1%}  builtin/external "
          f"{r['external'] / n:6.1%}  ambiguous {r['ambiguous'] / n:6.1%}  unresolved "
          f"{r['unresolved'] / n:6.1%}  ({r['edges']} edges)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path("upstream"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", default=BEFORE)
    args = parser.parse_args()
    print_suite()
    print_spotcheck()
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="annotate-calls-") as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        checkout(args.before, old)
        caches = {"ours": Path(tmp) / "cache-ours", "before": Path(tmp) / "cache-before"}
        paths = {"ours": None, "before": str(old)}
        cold = {m: run_child(args.tree, caches[m], m, paths[m]) for m in ("ours", "before")}
        run_child(args.tree, caches["ours"], "ours", None)  # warm-up of the OS file cache
        warm: dict[str, list[dict]] = {"ours": [], "before": []}
        for _ in range(args.runs):
            for m in ("ours", "before"):
                warm[m].append(run_child(args.tree, caches[m], m, paths[m]))
    print(f"\ntree: {args.tree}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"before = {args.before} (dotted-name resolver)")
    print("call sites, goal unresolved <= 20%")
    print_shares("ours", cold["ours"])
    print_shares("before", cold["before"])
    print(f"cold (empty cache), one run each; warm, median of {args.runs} alternated runs")
    for m in ("ours", "before"):
        w = warm[m]
        print(f"  {m:7} cold {cold[m]['seconds']:6.2f} s, peak RSS {cold[m]['rss_mb']:5.0f} MB "
              f"(workers {cold[m]['workers_rss_mb']:.0f} MB) | warm {_spread([r['seconds'] for r in w])}, "
              f"CPU {statistics.median(r['cpu'] for r in w):.2f} s, peak RSS "
              f"{max(r['rss_mb'] for r in w):.0f} MB")
    ratio = statistics.median(r["seconds"] for r in warm["ours"]) / statistics.median(
        r["seconds"] for r in warm["before"])
    print(f"  warm ours/before {ratio:.2f}x (goal <= 1.5x); cold peak RSS goal <= 1024 MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
