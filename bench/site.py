"""Benchmark: the full site build of this project — seconds, pages, size — against its targets.

Run from the repository root (``annotate fetch`` first; ``annotate map`` or ``annotate index``
warms the index cache the site reuses)::

    python bench/site.py [--keep-cache]

The site is built twice into a temporary directory (``site/`` is left alone): first with an
empty highlight cache (every cited file goes through Pygments, in parallel), then again with the
cache that run filled — the usual case for a rebuild and for ``mkdocs serve``. Targets: at most
60 s and 150 MB for the cold build. There is no peer: mkdocs alone renders no source pages.
``--keep-cache`` skips emptying the highlight cache first.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

TARGET_SECONDS = 60.0
TARGET_MB = 150.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-cache", action="store_true", help="do not empty the highlight cache first")
    args = parser.parse_args()
    from annotator import config
    from annotator.commands import site

    settings = config.load()
    if not args.keep_cache:
        shutil.rmtree(settings.cache_dir / "site" / "highlight", ignore_errors=True)
    reports = []
    with tempfile.TemporaryDirectory(prefix="annotate-bench-site-") as tmp:
        for run in ("cold highlight cache" if not args.keep_cache else "as found", "warm highlight cache"):
            out = Path(tmp) / run.replace(" ", "-")
            reports.append((run, site.build_into(settings, out)))
    print(f"{'build':24} {'seconds':>8} {'pages':>6} {'MB':>7} {'broken':>7}")
    for run, r in reports:
        print(f"{run:24} {r.seconds:8.1f} {r.pages:6d} {r.bytes / 1e6:7.1f} {r.broken:7d}")
    first = reports[0][1]
    ok = first.seconds <= TARGET_SECONDS and first.bytes / 1e6 <= TARGET_MB
    print(f"targets: ≤ {TARGET_SECONDS:.0f} s and ≤ {TARGET_MB:.0f} MB for the first build — "
          f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
