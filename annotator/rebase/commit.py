"""Make a rebase permanent: the rewritten documents, the pin, its page and upstream/ — all or nothing.

All or nothing even under ``kill -9`` or a power cut: everything new is staged first (documents
beside their targets, fsync'ed; the tree in a git-ignored staging dir next to upstream/), then an
intent journal (:mod:`annotator.rebase.journal`) is written, then the renames run, and the journal
is removed last. A run killed after the journal exists is completed by the next command (see
:mod:`annotator.commands.recover`); one killed before it changed nothing.

A document is compared with the bytes that were scanned twice: before anything is staged, and
again just before its own rename. If it was edited or deleted meanwhile, the files already
renamed are put back and the commit fails (:class:`RebaseError`, exit 2): the edit is kept, no
document is resurrected, and a second run maps the edited text.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from annotator import atomic
from annotator.errors import RebaseError
from annotator.fetch import Release
from annotator.pin import Pin, file_text, render_page
from annotator.rebase import journal
from annotator.tree_id import identify_tree


def pin_for(release: Release, tree: Path) -> Pin:
    """The pin of ``release``: its commit is the one its sdist records (``<pkg>/_version.py``).

    A package whose sdist records no commit id gets an empty commit; its PKG-INFO version is what
    ``fetch`` checks then.
    """
    if not release.sha256:
        raise RebaseError(f"{release.url}: the index gives no sha256; cannot move the pin")
    commit = identify_tree(tree, release.package).commit or ""
    return Pin(release.package, release.version, commit, release.filename, release.sha256)


def commit(
    documents: Mapping[Path, bytes],
    *,
    pin_file: Path | None,
    pin_page: Path | None,
    new_pin: Pin | None,
    upstream: Path,
    new_tree: Path | None,
    scanned: Mapping[Path, bytes] | None = None,
) -> None:
    """Write ``documents``, move the pin to ``new_pin`` and upstream/ to ``new_tree`` atomically.

    ``new_tree=None`` leaves upstream/ alone (a git checkout moves by itself). ``scanned`` holds
    the bytes each document had when it was read: a document edited since is not overwritten.
    """
    contents = dict(documents)
    if new_pin is not None and pin_file is not None:
        contents[pin_file] = file_text(pin_file, new_pin).encode("utf-8")  # annotate.toml keeps its other bytes
        if pin_page is not None:
            contents[pin_page] = render_page(new_pin, pin_file.name).encode("utf-8")
    if not contents and new_tree is None:
        return
    summary = f"rebase to {new_pin.package} {new_pin.version}" if new_pin else "rebase"
    with atomic.staging_dir(upstream.parent, journal.prefix(upstream)) as tx:
        originals = {p: (p.read_bytes() if p.exists() else None) for p in contents}
        _check_unchanged(originals, scanned or {})
        plan = _plan(contents, originals, tx, summary, upstream if new_tree is not None else None)
        _write_journal(tx, plan)
        _stage(plan, contents, originals, new_tree)
        plan = plan.with_state("commit")
        _write_journal(tx, plan)
        _apply(tx, plan)
        journal.finish(tx)


def _plan(
    contents: Mapping[Path, bytes], originals: Mapping[Path, bytes | None], tx: Path, summary: str,
    upstream: Path | None,
) -> journal.Journal:
    """The journal of this commit: staged names are fixed now, so a kill while staging can be undone."""
    files = tuple(
        journal.Replace(
            target=p,
            staged=p.with_name(f".{p.name}.{tx.name}.tmp"),
            new_sha256=journal.sha256(data),
            old_sha256=None if originals[p] is None else journal.sha256(originals[p]),
            backup=None if originals[p] is None else tx / "backup" / str(i),
        )
        for i, (p, data) in enumerate(contents.items())
    )
    tree = None if upstream is None else journal.TreeSwap(tx / "tree", upstream, tx / "old", upstream.exists())
    return journal.Journal("staging", summary, files, tree)


def _write_journal(tx: Path, plan: journal.Journal) -> None:
    try:
        journal.write(tx, plan)
    except OSError as exc:
        journal.discard(plan)
        raise RebaseError(f"{tx}: cannot write the rebase journal ({exc}); nothing was changed") from None


def _stage(
    plan: journal.Journal, contents: Mapping[Path, bytes], originals: Mapping[Path, bytes | None],
    new_tree: Path | None,
) -> None:
    """Write everything new (and the old bytes) where the renames will find it; durable, not yet visible.

    The files are fsync'ed with their directories; the tree copy is not (thousands of files would
    cost seconds): after a power cut it may need ``annotate fetch`` again, which its marker tells.
    """
    try:
        if plan.tree is not None and new_tree is not None:
            _stage_tree(new_tree, plan.tree.staged)
        for f in plan.files:
            journal.stage(f.staged, contents[f.target], f.target)
            if f.backup is not None:
                journal.stage(f.backup, originals[f.target] or b"")
        for d in sorted({p.parent for f in plan.files for p in (f.staged, f.backup) if p is not None}):
            atomic.fsync_dir(d)
    except (OSError, RebaseError) as exc:
        journal.discard(plan)
        if isinstance(exc, RebaseError):
            raise
        raise RebaseError(f"cannot stage the rebased files ({exc}); nothing was changed") from None


def _apply(tx: Path, plan: journal.Journal) -> None:
    """The renames; on any failure every file already renamed is put back."""
    try:
        journal.forward(plan, strict=True)
    except (OSError, RebaseError) as exc:
        plan = plan.with_state("abort")
        journal.write(tx, plan)
        kept = "".join(f"; {note}" for note in journal.back(plan))
        journal.finish(tx)
        if isinstance(exc, journal.ConflictError):
            raise journal.ConflictError(f"{exc}{kept}") from None
        raise RebaseError(f"cannot write the rebased files ({exc}); nothing was changed{kept}") from None


def _check_unchanged(originals: Mapping[Path, bytes | None], scanned: Mapping[Path, bytes]) -> None:
    for p, data in scanned.items():
        if p in originals and originals[p] != data:
            raise RebaseError(f"{p}: changed while the rebase ran; nothing was written, run it again")


def _stage_tree(tree: Path, target: Path) -> None:
    try:
        shutil.copytree(tree, target, symlinks=True)
    except OSError as exc:
        raise RebaseError(f"{tree}: cannot copy the new tree ({exc}); nothing was changed") from None
