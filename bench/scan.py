"""Figure: anchor scan time on a 3 MB single-line document and a 50 MB document, beside a regex pass.

The scanner must be linear in its input (issue 14: 100,000 anchors on one line used to take
minutes). Two generated markdown documents:

* ``one-line``: 3 MB on a single line, about 100,000 citations of mixed forms (labels bare and
  in backticks, ranges, links into ``upstream/``, continuations, bare basenames);
* ``50 MB``: course-like prose, a citation every few lines, lists and tables, a fence now and then.

The peer is the lower bound for any scanner: one ``re.finditer`` pass over the same text with a
pattern that only finds the candidate hits (``.py:N``), building nothing. Each document gets an
untimed warm-up of both, then the two alternate for ``--runs`` rounds; median and min-max are
printed with the load average, so a busy machine shows in the figure.

    python bench/scan.py              # both documents, 5 runs each
    python bench/scan.py --runs 3 --mb 20 --docs large
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotator.anchors import scan_text  # noqa: E402

PEER_RE = re.compile(r"\.py(?::L?| L)\d")
ONE_LINE_FORMS = (
    "see vllm/v1/core/block_pool.py:333 — BlockPool.get_new_blocks(), ",
    "`kv_cache_utils.py:116` ",
    "scheduler.py:390–392 then :443 — preemption loop; ",
    "[`Pool`](../upstream/vllm/a/b.py#L3-L9) ",
    "`vllm/x/y.py:12 — Foo.bar` and ",
    "`a.py:7` ",
    "b.py:L9 ",
)
PARAGRAPH = (
    "The scheduler walks the running queue first and only then admits waiting requests, which\n"
    "is why a long prefill can be split over several steps (see vllm/v1/core/sched/scheduler.py:390 —\n"
    "Scheduler.schedule()). Continuation :443 — the preemption loop — picks the newest request.\n"
    "\n"
    "- `kv_cache_utils.py:116 — KVCacheBlock` holds the block's hash and reference count\n"
    "- freeing walks blocks in reverse, vllm/v1/core/block_pool.py:L333-L352\n"
    "\n"
    "| Symbol | Where |\n|---|---|\n| `BlockPool` | block_pool.py:129 |\n\n"
    "```python\nx = pool.get_new_blocks(3)  # a.py:1 is code here, not a citation\n```\n\n"
)


def one_line_document(size: int) -> str:
    """About ``size`` characters on one line, forms interleaved."""
    unit = "".join(ONE_LINE_FORMS)
    return (unit * (size // len(unit) + 1))[:size].rsplit(" ", 1)[0]


def large_document(size: int) -> str:
    """About ``size`` characters of course-like markdown."""
    return PARAGRAPH * (size // len(PARAGRAPH) + 1)


def _ours(text: str) -> int:
    return len(scan_text(text, "bench.md"))


def _peer(text: str) -> int:
    return sum(1 for _ in PEER_RE.finditer(text))


def _time(fn: Callable[[str], int], text: str) -> tuple[float, int]:
    started = time.perf_counter()
    n = fn(text)
    return time.perf_counter() - started, n


def measure(name: str, text: str, runs: int) -> None:
    """Warm up, alternate ours and the peer ``runs`` times, print both figures."""
    _, anchors = _time(_ours, text)
    _, hits = _time(_peer, text)
    ours, peer = [], []
    for _ in range(runs):
        ours.append(_time(_ours, text)[0])
        peer.append(_time(_peer, text)[0])
    mb = len(text.encode()) / 1e6
    lines = text.count("\n") + 1
    print(f"{name}: {mb:.1f} MB, {lines:,} lines, {anchors:,} anchors ({hits:,} candidate hits)")
    for label, times in (("annotate scan_text", ours), ("peer re.finditer (hits only)", peer)):
        med = statistics.median(times)
        print(f"  {label:30s} median {med:7.3f} s  (min {min(times):.3f}, max {max(times):.3f})"
              f"  {mb / med:7.1f} MB/s")
    print(f"  ratio ours/peer: {statistics.median(ours) / statistics.median(peer):.1f}x")


def main() -> int:
    """Build both documents and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the large document")
    parser.add_argument("--line-mb", type=float, default=3.0, help="size of the one-line document")
    parser.add_argument("--docs", default="one-line,large", help="which documents, comma-separated")
    args = parser.parse_args()
    docs = args.docs.split(",")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (1 min), "
          f"{os.getloadavg()[1]:.2f} (5 min); median of {args.runs} runs, warm-up first")
    if "one-line" in docs:
        measure("one-line", one_line_document(int(args.line_mb * 1e6)), args.runs)
    if "large" in docs:
        measure("large", large_document(int(args.mb * 1e6)), args.runs)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
