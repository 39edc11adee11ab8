"""Atomic writes: every file we produce appears whole or not at all.

Readers (a browser on ``site/``, a concurrent ``verify``, a killed process) must never see a
half-written file, so each write goes to a temporary sibling and is renamed over the target.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (same directory, rename).

    ``fsync=False`` is for caches: a lost entry after a crash is merely recomputed, and syncing
    thousands of small files would cost seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Atomic UTF-8 text write; newlines are written exactly as given."""
    write_bytes(path, text.encode("utf-8"))


def write_many(contents: Mapping[Path, bytes]) -> None:
    """Write several files so that a failure midway restores every one of them.

    Each file is staged next to its target first; only when all are staged are they renamed in.
    If a rename fails, the files already replaced are put back from their saved bytes.
    """
    originals: dict[Path, bytes | None] = {
        p: (p.read_bytes() if p.exists() else None) for p in contents
    }
    staged: dict[Path, str] = {}
    try:
        for path, data in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged[path] = tmp
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        done: list[Path] = []
        try:
            for path, tmp in staged.items():
                os.replace(tmp, path)
                done.append(path)
        except BaseException:
            for path in done:
                _restore(path, originals[path])
            raise
    finally:
        for tmp in staged.values():
            Path(tmp).unlink(missing_ok=True)


def _restore(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        write_bytes(path, data)


def swap_dir(new: Path, dest: Path, old: Path) -> None:
    """Put directory ``new`` at ``dest`` by renames; the previous ``dest`` moves to ``old``.

    If the second rename fails, the previous tree is renamed back, so ``dest`` is never left
    missing or half-replaced. Deleting ``old`` is the caller's job, once it is safe.
    """
    had_old = dest.exists()
    if had_old:
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except OSError:
        if had_old:
            os.replace(old, dest)
        raise


@contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A scratch directory on the same filesystem as ``parent``, removed unless moved away."""
    import shutil

    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
