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


STAGING_LOCK = ".lock"
DEAD = ".dead"
STALE_AFTER_S = 60.0  # a staging dir without its lock file is only this old while being created


def fsync_dir(path: Path) -> None:
    """Make the renames and creations inside ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A scratch directory on the same filesystem as ``parent``, removed unless moved away.

    It ignores itself for git (a ``*`` .gitignore inside), so a killed run cannot get a copy of a
    vendored tree committed by ``git add -A``; and it holds a lock while its owner lives, so
    :func:`claim_stale` can tell a leftover of a killed run from a directory in use.
    """
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    lock = _lock(tmp / STAGING_LOCK, wait=True)
    try:
        (tmp / ".gitignore").write_text("*\n", "utf-8")
        yield tmp
    finally:
        _remove(tmp)
        os.close(lock)


def claim_stale(parent: Path, prefix: str) -> Iterator[Path]:
    """Each staging directory ``parent/prefix*`` whose owner is gone, locked while the caller looks.

    The directory is deleted when the caller asks for the next one, so a caller can first finish
    (or undo) whatever the killed run had started from it.
    """
    import shutil

    try:
        entries = sorted(p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir())
    except OSError:
        return
    for path in entries:
        if path.name.endswith(DEAD):  # its owner was done with it, killed while deleting it
            shutil.rmtree(path, ignore_errors=True)
            continue
        lock = _claim(path)
        if lock is None:
            continue
        try:
            yield path
            _remove(path)
        finally:
            if lock >= 0:
                os.close(lock)


def _remove(path: Path) -> None:
    """Delete a staging dir: first renamed to a name that says so (one atomic step, its lock still
    held), so that a deletion cut short is finished by the next :func:`claim_stale`."""
    import shutil

    dead = path.with_name(path.name + DEAD)
    try:
        os.rename(path, dead)
    except OSError:
        dead = path
    shutil.rmtree(dead, ignore_errors=True)


def _claim(path: Path) -> int | None:
    """The lock of a dead owner's staging dir (-1: a lockless leftover), or None if it is in use."""
    import time

    if not (path / STAGING_LOCK).exists():
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return None
        return -1 if age > STALE_AFTER_S else None
    try:
        return _lock(path / STAGING_LOCK, wait=False)
    except OSError:
        return None


def _lock(path: Path, *, wait: bool) -> int:
    """An open descriptor holding an exclusive lock on ``path``; raises OSError when ``wait`` is
    False and another process holds it. The lock dies with the process, however it dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): every owner counts as alive
        if wait:
            return fd
        os.close(fd)
        raise OSError(f"{path}: no advisory locks on this system") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        raise
    return fd
