"""Highlighted lines of many files: from the cache when the bytes are known, else in parallel.

Highlighting is most of a site build's work (Pygments lexes about 0.7 MB/s), and the cited
files rarely change between builds, so each file's lines are cached under the sha256 of its
bytes — never its mtime — together with the lexer, the Pygments version and the source of
:mod:`annotator.render.highlight`, so a new formatter never serves stale HTML. Files the cache
does not know are highlighted in a process pool, one file per task.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import pygments

from annotator import atomic
from annotator.render import highlight

POOL_THRESHOLD = 4  # fewer misses than this are highlighted in-process


def highlight_files(
    root: Path, paths: list[str], cache_dir: Path, jobs: int | None = None
) -> dict[str, list[str]]:
    """Highlighted lines of each file (tree-relative ``paths`` under ``root``), cached.

    Args:
        root: the tree.
        paths: files to highlight.
        cache_dir: the annotate cache; entries go under ``cache_dir/"site"``.
        jobs: worker processes for files missing from the cache (default: CPU count).
    """
    out: dict[str, list[str]] = {}
    misses: list[tuple[str, Path]] = []
    for path in paths:
        data = (root / path).read_bytes()
        entry = _entry_path(cache_dir, data, path)
        lines = _read(entry)
        if lines is None:
            misses.append((path, entry))
        else:
            out[path] = lines
    jobs = jobs or os.cpu_count() or 1
    if len(misses) < POOL_THRESHOLD or jobs < 2:
        done = [(p, e, _highlight_file(str(root), p)) for p, e in misses]
    else:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            results = pool.map(_highlight_file, [str(root)] * len(misses), [p for p, _ in misses])
            done = [(p, e, lines) for (p, e), lines in zip(misses, results)]
    for path, entry, lines in done:
        _write(entry, lines)
        out[path] = lines
    return out


def _highlight_file(root: str, path: str) -> list[str]:
    data = (Path(root) / path).read_bytes()
    return highlight.highlight_lines(data.decode("utf-8", "replace"), path)


def _entry_path(cache_dir: Path, data: bytes, path: str) -> Path:
    h = hashlib.sha256(data)
    h.update(f"\0{highlight.lexer_name(path)}\0{_format_tag()}".encode())
    key = h.hexdigest()
    return Path(cache_dir) / "site" / "highlight" / key[:2] / f"{key}.json"


@lru_cache(maxsize=1)
def _format_tag() -> str:
    """Changes whenever the same bytes could highlight differently (new code or new Pygments)."""
    source = Path(highlight.__file__).read_bytes()
    return f"{pygments.__version__}:{hashlib.sha256(source).hexdigest()[:16]}"


def _read(entry: Path) -> list[str] | None:
    try:
        lines = json.loads(entry.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return lines if isinstance(lines, list) else None


def _write(entry: Path, lines: list[str]) -> None:
    try:
        atomic.write_text(entry, json.dumps(lines, ensure_ascii=False))
    except OSError:
        pass  # a cache entry is disposable; the build goes on without it
