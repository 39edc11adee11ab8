"""Figure: wall time of ``annotate verify DIR --format json`` on 5,000 anchors in 200 documents.

The documents are generated in a temporary directory from the pinned tree's own definitions
(every anchor is correct, so the run must also report 5,000 ``ok`` — the figure doubles as a
check of the scanner on real names). Forms are mixed as in course material: list items with the
label in backticks, bare ranges, table rows that lend a label, links into ``upstream/``, unique
basenames and continuations. The index cache is warmed by one untimed run; then each timed run
is a fresh subprocess, so Python start-up and imports are included.

Run from the project (the pinned tree must be fetched)::

    python bench/verify.py            # prints wall seconds (median, best) and anchors/second
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0


def main() -> int:
    """Generate the documents, warm the cache, time the runs, print the figure."""
    args = _parse()
    from annotator import config as config_mod
    from annotator.index import open_index

    config = config_mod.load()
    tree = args.upstream or config.upstream_dir
    if not tree.is_dir():
        print(f"{tree}: no upstream tree; run `annotate fetch` first", file=sys.stderr)
        return 2
    index = open_index(tree, config.cache_dir)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        docs = Path(tmp)
        n_anchors, n_files = generate(index, docs, args.anchors, args.docs, random.Random(args.seed))
        command = _command(docs, tree)
        _run(command, config.root, n_anchors)  # warms the index cache; also checks every finding
        times, cpu = [], []
        for _ in range(args.runs):
            before = _child_cpu()
            started = time.perf_counter()
            _run(command, config.root, n_anchors)
            times.append(time.perf_counter() - started)
            cpu.append(_child_cpu() - before)
    median, best = statistics.median(times), min(times)
    print(f"verify: {n_anchors} anchors in {args.docs} documents citing {n_files} upstream files "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    print(f"wall (subprocess, start-up included, warm index): median {median:.3f} s, best {best:.3f} s "
          f"over {args.runs} runs; target <= {TARGET_SECONDS:.1f} s: {'met' if median <= TARGET_SECONDS else 'MISSED'}")
    print(f"cpu (user+sys of the subprocess, insensitive to other load): median {statistics.median(cpu):.3f} s")
    print(f"throughput: {n_anchors / median:,.0f} anchors/second (median wall)")
    return 0


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=5000)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--upstream", type=Path, default=None)
    return parser.parse_args()


def _command(docs: Path, tree: Path) -> list[str]:
    exe = shutil.which("annotate")
    head = [exe] if exe else [sys.executable, "-m", "annotator"]
    return [*head, "verify", str(docs), "--format", "json", "--upstream", str(tree)]


def _run(command: list[str], cwd: Path, expected: int) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"verify failed ({done.returncode}): {done.stderr.strip()}")
    findings = json.loads(done.stdout)
    broken = [f for f in findings if f["status"] != "ok"]
    if len(findings) != expected or broken:
        sample = "\n".join(f"  {f['text']}: {f['status']}: {f['message']}" for f in broken[:5])
        raise SystemExit(f"expected {expected} ok anchors, got {len(findings)} with {len(broken)} broken\n{sample}")


def generate(index, out: Path, n_anchors: int, n_docs: int, rng: random.Random) -> tuple[int, int]:
    """Write ``n_docs`` markdown files holding ``n_anchors`` correct anchors; (anchors, files cited)."""
    sources = _pick_sources(index, rng, want=max(1, n_docs + n_docs // 4))
    per_doc, extra = divmod(n_anchors, n_docs)
    total = 0
    for d in range(n_docs):
        count = per_doc + (1 if d < extra else 0)
        files = [sources[(d * 3 + k) % len(sources)] for k in range(5)]
        lines = [f"# Generated notes {d}", ""]
        written = 0
        while written < count:
            path, symbols = files[written % len(files)]
            block, used = _block(index, rng, path, symbols, count - written)
            lines += block + [""]
            written += used
        (out / f"notes-{d:03d}.md").write_text("\n".join(lines), "utf-8")
        total += written
    return total, len(sources)


def _pick_sources(index, rng: random.Random, want: int) -> list[tuple[str, list]]:
    """Python files under vllm/ with at least eight definitions, in a seeded random order."""
    paths = [p for p in index.py_paths() if p.startswith("vllm/")]
    rng.shuffle(paths)
    chosen = []
    for path in paths:
        fi = index.file(path)
        if fi is not None and len(fi.symbols) >= 8 and not fi.errors:
            chosen.append((path, list(fi.symbols)))
            if len(chosen) == want:
                break
    return chosen


def _block(index, rng: random.Random, path: str, symbols: list, room: int) -> tuple[list[str], int]:
    """One paragraph, list item, table or link line citing ``path``; returns (lines, anchors)."""
    sym = rng.choice(symbols)
    label = sym.qualname + ("()" if sym.kind != "class" else "")
    name = path.rsplit("/", 1)[-1]
    shown = name if len(index.by_basename(name)) == 1 and rng.random() < 0.3 else path
    form = rng.randrange(5) if room >= 2 else rng.randrange(3)
    if form == 0:
        return [f"- `{shown}:{sym.line} — {label}` — what this definition is for."], 1
    if form == 1:
        last = min(sym.end, sym.line + rng.randrange(1, 6))
        return [f"The body {path}:{sym.line}–{last} — {sym.qualname} does the work."], 1
    if form == 2:
        return [f"See [`{label}`](../upstream/{path}#L{sym.start}-L{sym.end}) for the whole definition."], 1
    if form == 3:
        other = rng.choice(symbols)
        return ["| Symbol | Note | Where |", "|---|---|---|",
                f"| `{sym.qualname}` | first | `{path}:{sym.line}` |",
                f"| `{other.qualname}` | second | `{path}:{other.line}` |"], 2
    inner = rng.randint(sym.start, sym.end)
    return [f"In `{path}:{sym.line} — {label}` the step at :{inner} — a line in its body, matters."], 2


if __name__ == "__main__":
    raise SystemExit(main())
