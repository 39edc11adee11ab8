"""Benchmark: indexing the pinned tree, cold and warm, against Universal Ctags on the same files.

Run from the repository root (the tree must be fetched: ``annotate fetch``)::

    python bench/index.py [--tree DIR] [--jobs N]

Prints, from one run: our cold index (empty temporary cache, process pool), our warm index (all
cached), a lazy ``verify``-style touch of 50 files on the warm cache, peak RSS of the indexing
process and of its workers, and ``ctags -R --languages=Python -f - TREE`` wall time. Each of
ours runs in a fresh interpreter so no run inherits another's caches or memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from annotator.index import open_index

tree, cache, jobs, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
started = time.perf_counter()
index = open_index(Path(tree), Path(cache), jobs=jobs)
if mode == "lazy":
    every = index.py_paths()
    for path in every[::len(every) // 50][:50]:
        index.file(path)
else:
    index.load_all()
seconds = time.perf_counter() - started
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
s = index.stats
print(json.dumps({
    "seconds": seconds, "files": s.files, "parsed": s.parsed, "hits": s.cache_hits,
    "symbols": s.symbols, "calls": s.calls,
    "cpu_main": me.ru_utime + me.ru_stime, "cpu_workers": kids.ru_utime + kids.ru_stime,
    "rss_mb": me.ru_maxrss / 1024, "workers_rss_mb": kids.ru_maxrss / 1024,
}))
"""


def ours(tree: Path, cache: Path, jobs: int, mode: str) -> dict:
    """One indexing run in a fresh interpreter; returns its JSON report."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(cache), str(jobs), mode],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def ctags(tree: Path) -> tuple[str, float]:
    """Universal Ctags' version line and its wall time over the tree's Python files."""
    exe = shutil.which("ctags")
    if exe is None:
        return "ctags not found", float("nan")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    first = version.splitlines()[0] if version else "unknown ctags"
    if "Universal Ctags" not in first:
        return f"{first} (not Universal Ctags: skipped)", float("nan")
    started = time.perf_counter()
    subprocess.run(
        [exe, "-R", "--languages=Python", "-f", "-", str(tree)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return first, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path("upstream"))
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPUs)")
    args = parser.parse_args()
    jobs = args.jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
        cold = ours(args.tree, Path(tmp), jobs, "all")
        warm = ours(args.tree, Path(tmp), jobs, "all")
        lazy = ours(args.tree, Path(tmp), jobs, "lazy")
    version, ctags_s = ctags(args.tree)
    print(f"tree: {args.tree} — {cold['files']} .py files, {cold['symbols']} symbols, "
          f"{cold['calls']} call sites; {jobs} jobs, load average {os.getloadavg()[0]:.2f}")
    print(f"ours  cold index (empty cache)   {cold['seconds']:6.2f} s   target <= 6 s "
          f"(parsed {cold['parsed']}; CPU: main {cold['cpu_main']:.2f} s + workers "
          f"{cold['cpu_workers']:.2f} s)")
    print(f"ours  warm index (all cached)    {warm['seconds']:6.2f} s   target <= 0.5 s "
          f"(hits {warm['hits']}; CPU {warm['cpu_main']:.2f} s incl. interpreter start-up)")
    print(f"ours  lazy: open + 50 files      {lazy['seconds']:6.2f} s   (verify's access pattern)")
    print(f"ours  peak RSS cold: main {cold['rss_mb']:.0f} MB, each worker <= "
          f"{cold['workers_rss_mb']:.0f} MB; warm: {warm['rss_mb']:.0f} MB")
    print(f"peer  {version}: ctags -R --languages=Python  {ctags_s:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
