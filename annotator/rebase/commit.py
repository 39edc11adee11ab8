"""Make a rebase permanent: the rewritten documents, the pin, its page and upstream/ — all or nothing.

Order matters for the all-or-nothing promise: the new tree is copied into a staging directory
first (a failure there changes nothing); then every document, the pin and the pin page are
written by one :func:`annotator.atomic.write_many` (which restores on failure); last, upstream/
is swapped in by two renames. If that swap fails, the documents and the pin are put back.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from annotator import atomic
from annotator.errors import RebaseError
from annotator.fetch import Release
from annotator.pin import Pin, render_page

_COMMIT = re.compile(r"commit_id\s*=\s*['\"]g?([0-9a-f]+)['\"]")


def pin_for(release: Release, tree: Path) -> Pin:
    """The pin of ``release``: its commit is the one its sdist records in ``vllm/_version.py``."""
    version_file = tree / release.package / "_version.py"
    try:
        match = _COMMIT.search(version_file.read_text("utf-8"))
    except OSError:
        match = None
    if match is None:
        raise RebaseError(f"{version_file}: no commit id recorded; cannot move the pin")
    if not release.sha256:
        raise RebaseError(f"{release.url}: the index gives no sha256; cannot move the pin")
    return Pin(release.package, release.version, match.group(1), release.filename, release.sha256)


def commit(
    documents: Mapping[Path, bytes],
    *,
    pin_file: Path,
    pin_page: Path,
    new_pin: Pin | None,
    upstream: Path,
    new_tree: Path | None,
    scanned: Mapping[Path, bytes] | None = None,
) -> None:
    """Write ``documents``, move the pin to ``new_pin`` and upstream/ to ``new_tree`` atomically.

    ``scanned`` holds the bytes each document had when it was read: a document edited since
    (by a person or another tool) is not overwritten; the whole commit is refused instead.
    """
    contents = dict(documents)
    if new_pin is not None:
        contents[pin_file] = new_pin.to_toml().encode("utf-8")
        contents[pin_page] = render_page(new_pin, pin_file.name).encode("utf-8")
    if not contents and new_tree is None:
        return
    with atomic.staging_dir(upstream.parent, f".{upstream.name}-rebase-") as staging:
        staged = _stage_tree(new_tree, staging) if new_tree is not None else None
        originals = {p: (p.read_bytes() if p.exists() else None) for p in contents}
        _check_unchanged(originals, scanned or {})
        try:
            atomic.write_many(contents)
        except OSError as exc:
            raise RebaseError(f"cannot write the rebased files ({exc}); nothing was changed") from None
        if staged is not None:
            try:
                atomic.swap_dir(staged, upstream, staging / "old")
            except OSError as exc:
                _restore(originals)
                raise RebaseError(f"{upstream}: cannot swap in the new tree ({exc}); nothing was changed") from None


def _check_unchanged(originals: Mapping[Path, bytes | None], scanned: Mapping[Path, bytes]) -> None:
    for p, data in scanned.items():
        if p in originals and originals[p] != data:
            raise RebaseError(f"{p}: changed while the rebase ran; nothing was written, run it again")


def _stage_tree(tree: Path, staging: Path) -> Path:
    target = staging / "tree"
    try:
        shutil.copytree(tree, target, symlinks=True)
    except OSError as exc:
        raise RebaseError(f"{tree}: cannot copy the new tree ({exc}); nothing was changed") from None
    return target


def _restore(originals: Mapping[Path, bytes | None]) -> None:
    atomic.write_many({p: data for p, data in originals.items() if data is not None})
    for p, data in originals.items():
        if data is None:
            p.unlink(missing_ok=True)
