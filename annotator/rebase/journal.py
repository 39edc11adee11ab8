"""The intent journal of a rebase commit, so that a killed commit is finished, never half-done.

A commit first stages every new file next to its target (fsync'ed), the old bytes as backups and
the new tree, then writes this journal (atomically, fsync'ed), and only then renames. Whoever
later finds a journal whose owner is dead (every command looks: :mod:`annotator.commands.recover`)
rolls it forward — the staged files are durable, so the renames can simply be completed — or,
when a staged file has gone, rolls every file back from the backups. Each step is decided by the
content hash of what is on disk now, never by a progress flag, so a recovery that is itself
killed is just run again.

States: ``staging`` (files being staged: nothing outside the staging dir has changed; recovery
deletes the staged files), ``commit`` (the intent: roll forward) and ``abort`` (roll back).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from annotator import atomic
from annotator.errors import RebaseError

JOURNAL = "journal.json"
STATES = ("staging", "commit", "abort")


def prefix(upstream: Path) -> str:
    """Name prefix of a rebase's staging dir, a sibling of ``upstream`` (same filesystem)."""
    return f".{upstream.name}-rebase-"


class ConflictError(RebaseError):
    """A target is neither what was scanned nor what was staged: someone else wrote it."""


@dataclass(frozen=True)
class Replace:
    """Replace ``target`` by the staged file; hashes say which of the two is on disk."""

    target: Path
    staged: Path
    new_sha256: str
    old_sha256: str | None  # None: the target did not exist
    backup: Path | None  # the target's old bytes (None when it did not exist)


@dataclass(frozen=True)
class TreeSwap:
    """Swap the directory ``staged`` in at ``dest``; the previous tree moves to ``aside``."""

    staged: Path
    dest: Path
    aside: Path
    had_old: bool


@dataclass(frozen=True)
class Journal:
    """What one commit is about to do."""

    state: str
    summary: str  # for messages: "rebase to vllm 0.2.0"
    files: tuple[Replace, ...]
    tree: TreeSwap | None = None

    def with_state(self, state: str) -> Journal:
        """The same intent in another state."""
        return replace(self, state=state)

    def to_json(self) -> dict:
        """Plain JSON: paths as strings."""
        def plain(record) -> dict:
            return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(record).items()}

        tree = None if self.tree is None else plain(self.tree)
        return {"state": self.state, "summary": self.summary, "files": [plain(f) for f in self.files], "tree": tree}

    @classmethod
    def from_json(cls, data: dict) -> Journal:
        """Inverse of :meth:`to_json`."""
        def path(v):
            return None if v is None else Path(v)

        files = tuple(
            Replace(Path(f["target"]), Path(f["staged"]), f["new_sha256"], f["old_sha256"], path(f["backup"]))
            for f in data["files"]
        )
        t = data["tree"]
        tree = None if t is None else TreeSwap(Path(t["staged"]), Path(t["dest"]), Path(t["aside"]), t["had_old"])
        if data["state"] not in STATES:
            raise ValueError(f"unknown state {data['state']!r}")
        return cls(data["state"], data["summary"], files, tree)


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def digest(path: Path) -> str | None:
    """Hex sha256 of the file at ``path``, or None when there is none."""
    try:
        return sha256(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def write(tx: Path, journal: Journal) -> None:
    """Record ``journal`` in the staging dir ``tx``, durably, before acting on it."""
    atomic.write_bytes(tx / JOURNAL, (json.dumps(journal.to_json(), indent=1) + "\n").encode("utf-8"))
    atomic.fsync_dir(tx)


def read(tx: Path) -> Journal | None:
    """The journal in ``tx``, or None when the run there never got to write one."""
    path = tx / JOURNAL
    try:
        return Journal.from_json(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RebaseError(f"{path}: cannot read the journal of an interrupted rebase ({exc})") from None


def forward(journal: Journal, *, strict: bool) -> list[str]:
    """Rename every staged file over its target, then swap the tree in; returns warnings.

    A target that is neither the old nor the new content was written by someone else: ``strict``
    (the commit itself) raises :class:`ConflictError`; a recovery leaves it and warns instead.
    A staged file that has gone raises :class:`RebaseError` (the caller rolls back).
    """
    notes: list[str] = []
    dirs: set[Path] = set()
    for f in journal.files:
        now = digest(f.target)
        if now == f.new_sha256:
            continue
        if now != f.old_sha256:
            if strict:
                what = "deleted" if now is None else "changed"
                raise ConflictError(f"{f.target}: {what} while the rebase ran; nothing was written, run it again")
            notes.append(f"{f.target}: edited after the interrupted rebase, left as it is; check it with `annotate verify`")
            continue
        if digest(f.staged) != f.new_sha256:
            raise RebaseError(f"{f.staged}: the staged copy of {f.target} is gone")
        os.replace(f.staged, f.target)
        dirs.add(f.target.parent)
    for d in sorted(dirs):
        atomic.fsync_dir(d)
    if journal.tree is not None:
        _tree_forward(journal.tree)
    return notes


def back(journal: Journal) -> list[str]:
    """Put every target back to its old bytes (a file someone else wrote meanwhile is left alone)."""
    notes: list[str] = []
    if journal.tree is not None:
        _tree_back(journal.tree)
    for f in journal.files:
        now = digest(f.target)
        if now == f.old_sha256:
            continue
        if now != f.new_sha256:
            notes.append(f"{f.target}: edited during the interrupted rebase, left as it is; check it with `annotate verify`")
        elif f.backup is None:
            f.target.unlink()
        else:
            data = f.backup.read_bytes()
            if sha256(data) != f.old_sha256:
                raise RebaseError(f"{f.backup}: the backup of {f.target} is damaged; restore it from version control")
            stage(f.staged, data, f.target)  # the journal's own name: a kill here leaves nothing unknown
            os.replace(f.staged, f.target)
    discard(journal)
    return notes


def stage(path: Path, data: bytes, mode_of: Path | None = None) -> None:
    """Write ``data`` to ``path`` durably (fsync'ed), with ``mode_of``'s permission bits if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if mode_of is not None and mode_of.exists():
        os.chmod(path, mode_of.stat().st_mode & 0o7777)


def discard(journal: Journal) -> None:
    """Delete the staged files that were not renamed in (they sit beside the documents)."""
    for f in journal.files:
        f.staged.unlink(missing_ok=True)


def finish(tx: Path) -> None:
    """The commit is complete: drop its journal (the staging dir is deleted after this)."""
    (tx / JOURNAL).unlink(missing_ok=True)
    atomic.fsync_dir(tx)


def recover(tx: Path) -> list[str]:
    """Finish (or undo) the commit a killed run left in ``tx``; lines saying what was done."""
    journal = read(tx)
    if journal is None:
        return []
    if journal.state == "staging":
        discard(journal)
        finish(tx)
        return []
    notes: list[str] = []
    done = "completed"
    if journal.state == "commit":
        try:
            notes = forward(journal, strict=False)
        except (RebaseError, OSError) as exc:
            notes = [f"cannot complete it ({exc}); rolling it back"]
            journal = journal.with_state("abort")
            write(tx, journal)
    if journal.state == "abort":
        notes += back(journal)
        done = "rolled back"
    discard(journal)
    finish(tx)
    return [f"{done} an interrupted {journal.summary}"] + notes


def _tree_forward(t: TreeSwap) -> None:
    if not t.staged.exists():  # already swapped in
        return
    if t.had_old and t.dest.exists() and not t.aside.exists():
        os.replace(t.dest, t.aside)
    os.replace(t.staged, t.dest)
    atomic.fsync_dir(t.dest.parent)


def _tree_back(t: TreeSwap) -> None:
    if not t.staged.exists() and t.dest.exists():  # the new tree is in place: take it out again
        os.replace(t.dest, t.staged)
    if t.had_old and not t.dest.exists() and t.aside.exists():
        os.replace(t.aside, t.dest)
    atomic.fsync_dir(t.dest.parent)
