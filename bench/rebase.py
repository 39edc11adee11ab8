"""Figures for ``annotate rebase``: this project's own anchors, the pinned release → a much newer one.

Runs ``annotate rebase --to TARGET --dry-run --format json`` as a user would (a fresh Python
process each time) on the project's configured documents, two ways, in the same run:

* chain — the default: every final release between the pin and the target, step by step;
* direct — ``--via none``: the pinned tree straight to the target (what rebase did before).

Each is timed cold (an empty cache: every tree hash-checked and unpacked from its sdist, every
cited file indexed, every step computed; the sdists are linked in from the user cache so the
network is not timed) and warm (the same cache again: trees, indexes and step answers cached).
Warm runs alternate chain and direct, after a warm-up, and the median with min–max is printed.
Cold runs cost minutes on a 2-core box, so each is run once (``--cold-runs`` to repeat).

The chain's per-release cost is read from the cold run's step-cache files: each is written when
its step ends. Nothing in the project is written. Usage:
``python bench/rebase.py [--to 0.34.0] [--warm-runs 5] [--cold-runs 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"cold": 120.0, "warm": 10.0}  # seconds, chain, from the issue


def run(to: str, cache: Path, via: str) -> tuple[float, float, list[dict]]:
    """One rebase in a fresh process; (wall seconds, CPU seconds of the process, JSON records)."""
    env = dict(os.environ, ANNOTATE_CACHE_DIR=str(cache))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "annotator", "rebase", "--to", to, "--via", via, "--dry-run", "--format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"rebase failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds, cpu, json.loads(proc.stdout)


def seed_sdists(cache: Path) -> None:
    """Link (or copy) the user cache's sdists into an empty cache, so 'cold' does not time downloads."""
    from annotator.config import default_cache_dir

    source = default_cache_dir() / "sdists"
    (cache / "sdists").mkdir(parents=True)
    for sdist in source.glob("*.tar.gz") if source.is_dir() else ():
        try:
            os.link(sdist, cache / "sdists" / sdist.name)
        except OSError:
            shutil.copy2(sdist, cache / "sdists" / sdist.name)


def step_costs(cache: Path) -> list[tuple[str, float | None]]:
    """(step, seconds) from the step-cache files' write times, the first measured from the last tree.

    A step that wrote no file answered every anchor without mapping (each cited file was
    byte-identical in both releases): its cost is None, too small to see here.
    """
    trees = [p.stat().st_mtime for p in (cache / "trees").glob("*/.annotate-fetch.json")]
    written = {}
    for p in (cache / "rebase-steps").glob("*.json"):
        old, _, rest = p.name.partition("--")
        written[(old.rsplit("-", 1)[0], rest.split("-", 1)[0])] = p.stat().st_mtime
    versions = sorted({v for pair in written for v in pair}, key=lambda v: tuple(int(x) for x in v.split(".")))
    listed = sorted({p.parent.name.rpartition("-")[2] for p in (cache / "trees").glob("*/.annotate-fetch.json")}
                    | set(versions[:1]), key=lambda v: tuple(int(x) for x in v.split(".")))
    out, last = [], max(trees, default=0.0)
    for old, new in zip(listed, listed[1:]):
        mtime = written.get((old, new))
        out.append((f"{old} → {new}", None if mtime is None else mtime - last))
        last = mtime or last
    return out


def counts(records: list[dict]) -> str:
    c = Counter(r["status"] for r in records)
    return ", ".join(f"{n} {s}" for s, n in sorted(c.items(), key=lambda t: -t[1]))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", default="0.34.0", help="target release (default 0.34.0)")
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {load()} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
        cold: dict[str, list[tuple[float, float]]] = {"all": [], "none": []}
        caches = {}
        for k in range(args.cold_runs):
            for via in ("all", "none"):
                cache = Path(tmp) / f"{via}-{k}"
                seed_sdists(cache)
                seconds, cpu, records = run(args.to, cache, via)
                cold[via].append((seconds, cpu))
                caches[via] = (cache, records)
        costs = step_costs(caches["all"][0])
        warm: dict[str, list[tuple[float, float]]] = {"all": [], "none": []}
        for via in ("all", "none"):
            run(args.to, caches[via][0], via)  # warm-up
        for _ in range(args.warm_runs):
            for via in ("all", "none"):
                seconds, cpu, _ = run(args.to, caches[via][0], via)
                warm[via].append((seconds, cpu))
    print(f"{'run':<6} {'mode':<7} {'n':>2} {'wall s median (min-max)':>26} {'cpu s':>7}  goal")
    for kind, table in (("cold", cold), ("warm", warm)):
        for via, name in (("all", "chain"), ("none", "direct")):
            walls = [w for w, _ in table[via]]
            cpus = [c for _, c in table[via]]
            med = statistics.median(walls)
            goal = f"{GOALS[kind]:.0f} s {'ok' if med <= GOALS[kind] else 'over'}" if via == "all" else "-"
            print(f"{kind:<6} {name:<7} {len(walls):>2} {med:9.2f} ({min(walls):.2f}-{max(walls):.2f}){'':>6} "
                  f"{statistics.median(cpus):7.2f}  {goal}")
    print("chain, per release (cold, from step-cache write times):")
    for step, seconds in costs:
        print(f"  {step:<18} " + ("   -   (every cited file identical)" if seconds is None else f"{seconds:6.2f} s"))
    print(f"chain  statuses: {counts(caches['all'][1])}")
    print(f"direct statuses: {counts(caches['none'][1])}")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
