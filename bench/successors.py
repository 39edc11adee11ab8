"""How well does ``annotate rebase`` find the successors of vanished symbols? Scored on held-out truth.

``bench/successors_truth.toml`` lists symbols this repository's annotations cite in vLLM 0.22.1
that are gone from 0.34.0 under their qualified name, with the successor found by reading the
releases' code (or ``removed``). This script runs ``annotate rebase --to 0.34.0 --dry-run
--format json`` on the repository (the real releases, fetched and cached) and prints, per case,
what the tool did, then:

* re-anchored: vanished symbols whose anchors now point at the true successor (any piece of a split);
* first suggestion: re-anchored right, or left ``missing`` with the successor as first candidate;
* wrong re-anchorings: anchors moved to anything else (the goal is none);
* removed left alone: removed symbols whose anchors were not moved (and how many say ``removed``).

Usage: ``python bench/successors.py [--json FILE] [--min-confidence X] [--via all|none]`` (``--json``
scores a saved rebase output instead of running one; ``--via none`` scores the direct rebase).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRUTH = Path(__file__).with_name("successors_truth.toml")


def rebase_records(to: str, min_confidence: float | None, via: str) -> tuple[list[dict], float]:
    """The rebase JSON of this repository's own documents, and the seconds it took."""
    cmd = [sys.executable, "-m", "annotator", "rebase", "--to", to, "--via", via, "--dry-run", "--format", "json"]
    if min_confidence is not None:
        cmd += ["--min-confidence", str(min_confidence)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"rebase failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout), time.perf_counter() - started


def cited(rec: dict, path: str, qualname: str) -> bool:
    """True when the record's old anchor names ``qualname`` in ``path``."""
    label = (rec["old"].get("label") or "").strip().removesuffix("()")
    parts = label.split(".")
    return rec["old"]["path"] == path and bool(label) and qualname.split(".")[-len(parts):] == parts


def target(rec: dict, qualname: str) -> str | None:
    """``path::qualname`` the anchor points at now (None when it was not re-anchored)."""
    if rec["new"] is None:
        return None
    return f"{rec['new']['path']}::{rec['successor'] or qualname}"


def first_candidate(rec: dict) -> str | None:
    """The first candidate as ``path::qualname`` (candidates read ``path:line — qualname (…)``)."""
    if not rec["candidates"]:
        return None
    where, _, rest = rec["candidates"][0].partition(" — ")
    return f"{where.rpartition(':')[0]}::{rest.split(' ')[0]}"


def score(cases: list[dict], records: list[dict]) -> dict[str, int]:
    """Per-case lines on stdout, and the counts."""
    n = dict(vanished=0, right=0, first=0, wrong=0, removed=0, left_alone=0, said_removed=0, uncited=0)
    for case in cases:
        path, _, qualname = case["old"].partition("::")
        recs = [r for r in records if cited(r, path, qualname)]
        if not recs:
            n["uncited"] += 1
            print(f"  not cited any more: {case['old']}")
            continue
        rec = recs[0]
        good = {case.get("successor")} | set(case.get("also", ())) - {None}
        now = target(rec, qualname)
        if case["verdict"] == "removed":
            n["removed"] += 1
            n["left_alone"] += now is None
            n["said_removed"] += rec["status"] == "removed"
            n["wrong"] += now is not None
            outcome = "left alone" if now is None else f"WRONG: re-anchored to {now}"
        else:
            n["vanished"] += 1
            right = now in good
            first = right or (now is None and first_candidate(rec) in good)
            n["right"] += right
            n["first"] += first
            n["wrong"] += now is not None and not right
            outcome = ("re-anchored" if right else f"WRONG: {now}" if now else
                       "first suggestion" if first else f"missed (first: {first_candidate(rec)})")
        print(f"  {rec['status']:<10} {rec['release'] or '-':<7} {qualname:<58} {outcome}")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="score this saved `rebase --format json` output")
    parser.add_argument("--to", default="0.34.0")
    parser.add_argument("--min-confidence", type=float, default=None)
    parser.add_argument("--via", default="all", help="all (the release chain, default) or none (direct)")
    args = parser.parse_args()
    cases = tomllib.loads(TRUTH.read_text("utf-8"))["case"]
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {len(cases)} cases")
    if args.json:
        records, seconds = json.loads(args.json.read_text("utf-8")), 0.0
    else:
        records, seconds = rebase_records(args.to, args.min_confidence, args.via)
    n = score(cases, records)
    v, r = max(n["vanished"], 1), max(n["removed"], 1)
    print(f"vanished symbols: {n['vanished']}; re-anchored to the successor: {n['right']} ({n['right'] / v:.0%}); "
          f"successor first suggestion: {n['first']} ({n['first'] / v:.0%})")
    print(f"wrong re-anchorings: {n['wrong']} (goal 0)")
    print(f"removed symbols: {n['removed']}; left alone: {n['left_alone']} ({n['left_alone'] / r:.0%}); "
          f"reported removed: {n['said_removed']}")
    if seconds:
        print(f"rebase run: {seconds:.1f} s")


if __name__ == "__main__":
    main()
