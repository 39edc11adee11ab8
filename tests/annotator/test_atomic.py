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
