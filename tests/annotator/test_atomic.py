"""Tests for annotator.atomic: whole-or-nothing files, multi-file writes and directory swaps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotator import atomic


def test_write_bytes_replaces_whole_and_keeps_mode(tmp_path: Path):
    """A rewrite leaves no temporary sibling and keeps the file's permission bits."""
    target = tmp_path / "f.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic.write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_write_many_restores_every_file_when_a_rename_fails(tmp_path: Path, monkeypatch):
    """If the second rename fails, the first file is put back and no file changes."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    real, calls = os.replace, {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("injected")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError, match="injected"):
        atomic.write_many({a: b"A2", b: b"B2"})
    monkeypatch.undo()
    assert (a.read_bytes(), b.read_bytes()) == (b"A", b"B")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_swap_dir_puts_the_old_tree_back_on_failure(tmp_path: Path, monkeypatch):
    """When the new tree cannot be renamed in, the previous one is back at its place."""
    dest, new, old = tmp_path / "up", tmp_path / "new", tmp_path / "old"
    dest.mkdir()
    (dest / "x").write_text("1")
    new.mkdir()
    real = os.replace

    def fail_new(src, dst):
        if Path(src) == new:
            raise OSError("injected")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_new)
    with pytest.raises(OSError):
        atomic.swap_dir(new, dest, old)
    monkeypatch.undo()
    assert (dest / "x").read_text() == "1"


def test_swap_dir_moves_previous_tree_aside(tmp_path: Path):
    """On success the new tree is at dest and the previous one at old."""
    dest, new, old = tmp_path / "up", tmp_path / "new", tmp_path / "old"
    dest.mkdir()
    (dest / "x").write_text("1")
    new.mkdir()
    (new / "y").write_text("2")
    atomic.swap_dir(new, dest, old)
    assert (dest / "y").read_text() == "2" and (old / "x").read_text() == "1"


def test_staging_dir_is_git_ignored_and_removed(tmp_path: Path):
    """A staging dir ignores itself for git (a ``*`` .gitignore) and is gone after use."""
    with atomic.staging_dir(tmp_path, ".up-rebase-") as tmp:
        assert (tmp / ".gitignore").read_text() == "*\n"
        (tmp / "tree").mkdir()
    assert list(tmp_path.iterdir()) == []


def test_claim_stale_skips_a_live_dir_and_takes_dead_ones(tmp_path: Path):
    """A dir whose owner holds its lock is left; a killed owner's dir (lock free), an old lockless
    leftover and a half-deleted ``.dead`` dir are removed; a young lockless dir is left."""
    dead = tmp_path / ".up-rebase-dead1"
    (dead / "tree").mkdir(parents=True)
    (dead / atomic.STAGING_LOCK).write_text("")  # nobody holds it: its owner was killed
    legacy = tmp_path / ".up-rebase-legacy"
    legacy.mkdir()
    os.utime(legacy, (1, 1))
    young = tmp_path / ".up-rebase-young"
    young.mkdir()
    (tmp_path / f".up-rebase-gone{atomic.DEAD}").mkdir()
    (tmp_path / "unrelated").mkdir()
    with atomic.staging_dir(tmp_path, ".up-rebase-") as live:
        claimed = [p.name for p in atomic.claim_stale(tmp_path, ".up-rebase-")]
        assert live.is_dir()
    assert claimed == [".up-rebase-dead1", ".up-rebase-legacy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".up-rebase-young", "unrelated"]


def test_claim_stale_keeps_a_dir_when_the_caller_stops(tmp_path: Path):
    """A dir is deleted only once the caller asks for the next one (it may fail recovering it)."""
    (tmp_path / ".up-rebase-a").mkdir()
    (tmp_path / ".up-rebase-a" / atomic.STAGING_LOCK).write_text("")
    stale = atomic.claim_stale(tmp_path, ".up-rebase-")
    assert next(stale).name == ".up-rebase-a"
    stale.close()
    assert (tmp_path / ".up-rebase-a").is_dir()
