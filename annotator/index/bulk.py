"""Bulk loading for :meth:`annotator.index.SymbolIndex.load_all`: pack, entries, then a process pool.

Order of lookup for each file (by the sha256 of its bytes): the tree's pack, the per-file entry,
else parse. Parsing runs in worker processes on chunks of files (largest files first, so the
last chunk to finish is a small one); workers return marshalled extractions. The parent then
rewrites the pack when the set of digests changed, so the next warm run reads one file.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from annotator.index import cache as index_cache, flow as index_flow, parse as index_parse
from annotator.errors import InputError

Progress = Callable[[str, int, "int | None"], None]  # (phase, done, total)
_CHUNKS_PER_JOB = 12  # enough chunks to balance the load, few enough to keep IPC overhead small


def load(
    root: Path,
    paths: list[str],
    cache: index_cache.Cache,
    jobs: int,
    progress: Progress | None,
    pool_threshold: int,
) -> tuple[dict[str, tuple[str, tuple]], set[str]]:
    """Encoded extractions of ``paths`` (every ``.py`` file of ``root``, so the pack covers the tree).

    Returns (path → (digest, entry), the paths that had to be parsed).
    """
    digests = hash_files(root, paths)
    pack = cache.read_pack()
    blobs: dict[str, bytes] = {}
    entries: dict[str, tuple[str, tuple]] = {}
    todo: list[str] = []
    with index_cache.gc_paused():
        for path, digest in digests.items():
            blob = pack.get(digest) or cache.read_entry_bytes(digest)
            entry = index_cache.loads(blob)
            if entry is None:
                todo.append(path)
            else:
                blobs[path], entries[path] = blob, (digest, entry)
        for path, digest, blob in _parse(root, todo, jobs, progress, pool_threshold) if todo else ():
            # the digest is the one of the bytes parsed: the file may have changed meanwhile
            blobs[path], entries[path] = blob, (digest, marshal.loads(blob))
    fresh = {entries[p][0]: blobs[p] for p in paths}
    if pack.keys() != fresh.keys():
        cache.write_pack(fresh)  # mirrors the tree as it is now: stale digests drop out
    return {p: entries[p] for p in paths}, set(todo)


def load_flows(
    root: Path,
    digests: dict[str, str],
    cache: index_cache.Cache,
    jobs: int,
    progress: Progress | None,
    pool_threshold: int,
) -> dict[str, bytes]:
    """The value flow of each file (path → marshalled flow), from the flow pack or extracted now.

    Left marshalled: the call graph decodes one file at a time, which bounds its memory.

    ``digests`` (path → sha256, as the index knows them) key the pack, so a warm call reads one
    file; files the pack lacks are extracted in the pool like a cold index.
    """
    pack = cache.read_pack(cache.flow_pack_path)
    blobs = {p: pack[d] for p, d in digests.items() if d in pack}
    todo = [p for p in digests if p not in blobs]
    fresh_digests = dict(digests)
    for path, digest, blob in _parse(root, todo, jobs, progress, pool_threshold, "flow") if todo else ():
        blobs[path], fresh_digests[path] = blob, digest
    if todo:
        cache.write_pack({fresh_digests[p]: blobs[p] for p in digests}, cache.flow_pack_path)
    return {p: blobs[p] for p in sorted(digests)}


def read_source(root: Path, path: str) -> bytes:
    """A file's bytes; an unreadable file is an :class:`InputError` naming it, not a traceback.

    Plain ``open`` on a joined string: over 3,000 files pathlib's overhead shows.
    """
    try:
        with open(os.path.join(root, path), "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror}); fix its permissions") from None


def hash_files(root: Path, paths: list[str]) -> dict[str, str]:
    """sha256 of each file's bytes."""
    return {path: hashlib.sha256(read_source(root, path)).hexdigest() for path in paths}


def _parse(
    root: Path,
    todo: list[str],
    jobs: int,
    progress: Progress | None,
    pool_threshold: int,
    kind: str = "index",
) -> list[tuple[str, str, bytes]]:
    """Parse ``todo`` inline (few files or one job) or in a process pool, reporting progress.

    ``kind`` is "index" (symbols, imports, calls) or "flow" (the call graph's value flow).
    """
    report = progress or (lambda phase, done, total: None)
    total = len(todo)
    report(kind, 0, total)
    worker = parse_chunk if kind == "index" else flow_chunk
    if jobs <= 1 or total < pool_threshold:
        out = []
        for i, path in enumerate(todo, 1):
            out.extend(worker(str(root), [path]))
            if i % 64 == 0 or i == total:
                report(kind, i, total)
        return out
    return _pool_parse(root, todo, jobs, report, worker, kind)


def _pool_parse(
    root: Path, todo: list[str], jobs: int, report: Progress, worker, kind: str
) -> list[tuple[str, str, bytes]]:
    sizes = {p: (root / p).stat().st_size for p in todo}
    ordered = sorted(todo, key=lambda p: -sizes[p])
    n_chunks = min(len(ordered), jobs * _CHUNKS_PER_JOB)
    chunks = [ordered[i::n_chunks] for i in range(n_chunks)]
    out: list[tuple[str, str, bytes]] = []
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=_context(), initializer=_watch_parent, initargs=(os.getpid(),)
    ) as pool:
        pending = {
            pool.submit(worker, str(root), chunk) for chunk in chunks
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                out.extend(fut.result())
            report(kind, len(out), len(todo))
    return out


def _watch_parent(parent: int, period: float = 0.2) -> None:
    """Worker initializer: end this worker as soon as the process that started it is gone.

    A pool's workers wait on a queue whose other end the parent holds; after a ``kill -9`` of the
    parent nobody ever closes it (forked siblings inherit it too), so they would block forever.
    A daemon thread polls the parent id (re-parenting changes it) and exits hard, which is safe:
    a worker holds nothing but its own results.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(period)
        os._exit(1)

    threading.Thread(target=watch, name="annotate-parent-watch", daemon=True).start()


def _context():
    """``fork`` where available: workers start in milliseconds with tree-sitter already imported."""
    import multiprocessing

    if sys.platform != "win32" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def parse_chunk(root: str, paths: list[str]) -> list[tuple[str, str, bytes]]:
    """Worker body: parse each file; return (path, digest, marshalled entry) for each.

    No per-file cache entry is written here: creating thousands of small files costs more than
    the parsing on some filesystems, and the pack written afterwards covers every file.
    """
    with index_cache.gc_paused():
        return [_parse_one(root, path) for path in paths]


def flow_chunk(root: str, paths: list[str]) -> list[tuple[str, str, bytes]]:
    """Worker body for the value flow: (path, digest, marshalled flow) for each file."""
    out = []
    with index_cache.gc_paused():
        for path in paths:
            data = read_source(root, path)
            out.append((path, hashlib.sha256(data).hexdigest(), _dump_flow(data)))
    return out


def _dump_flow(data: bytes) -> bytes:
    """One file's marshalled flow; a file nested too deeply to marshal gets an empty flow."""
    try:
        return marshal.dumps(index_flow.extract_flow(data))
    except (ValueError, RecursionError):
        return marshal.dumps(((), ()))


def _parse_one(root: str, path: str) -> tuple[str, str, bytes]:
    data = read_source(root, path)
    return path, hashlib.sha256(data).hexdigest(), marshal.dumps(index_parse.extract_safely(data))
