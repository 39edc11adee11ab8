"""Tests for annotator.rebase.commit: documents, pin, pin page and upstream/ change all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotator import pin as pin_mod
from annotator.errors import RebaseError
from annotator.fetch import Release
from annotator.rebase.commit import commit, pin_for

OLD_PIN = pin_mod.Pin("vllm", "0.1.0", "1111111", "vllm-0.1.0.tar.gz", "a" * 64)
NEW_PIN = pin_mod.Pin("vllm", "0.2.0", "2222222", "vllm-0.2.0.tar.gz", "b" * 64)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden staging leftovers included) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A project with two documents, a pin, its page, an upstream/ tree and a new tree to swap in."""
    proj = tmp_path / "proj"
    (proj / "upstream").mkdir(parents=True)
    (proj / "upstream" / "old.py").write_text("old = 1\n")
    (proj / "a.md").write_text("see x.py:1\n")
    (proj / "b.py").write_text("# upstream: x.py:2\n")
    pin_mod.write(proj / "UPSTREAM_PIN.toml", OLD_PIN)
    (proj / "UPSTREAM_PIN.md").write_text(pin_mod.render_page(OLD_PIN))
    new_tree = tmp_path / "cache" / "trees" / "vllm-0.2.0"
    (new_tree / "vllm").mkdir(parents=True)
    (new_tree / "vllm" / "new.py").write_text("new = 2\n")
    return {"root": proj, "new_tree": new_tree}


def run_commit(project: dict[str, Path]) -> None:
    root = project["root"]
    commit(
        {root / "a.md": b"see x.py:5\n", root / "b.py": b"# upstream: x.py:6\n"},
        pin_file=root / "UPSTREAM_PIN.toml",
        pin_page=root / "UPSTREAM_PIN.md",
        new_pin=NEW_PIN,
        upstream=root / "upstream",
        new_tree=project["new_tree"],
    )


def test_success_moves_everything(project):
    """Documents, pin, page and upstream/ all hold the new state afterwards; no staging is left."""
    run_commit(project)
    root = project["root"]
    assert (root / "a.md").read_bytes() == b"see x.py:5\n"
    assert pin_mod.read(root / "UPSTREAM_PIN.toml") == NEW_PIN
    assert (root / "UPSTREAM_PIN.md").read_text() == pin_mod.render_page(NEW_PIN)
    assert (root / "upstream" / "vllm" / "new.py").is_file() and not (root / "upstream" / "old.py").exists()
    assert sorted(p.name for p in root.iterdir()) == ["UPSTREAM_PIN.md", "UPSTREAM_PIN.toml", "a.md", "b.py", "upstream"]
    assert (project["new_tree"] / "vllm" / "new.py").is_file()  # the cache keeps its copy


def failing_replace(monkeypatch, should_fail):
    """Make ``os.replace`` raise for the calls ``should_fail(n, src, dst)`` picks (n counts from 1)."""
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst, *args, **kwargs):
        calls["n"] += 1
        if should_fail(calls["n"], Path(src), Path(dst)):
            raise OSError("injected failure")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", flaky)


@pytest.mark.parametrize(
    "where",
    [
        lambda n, src, dst: n == 1,  # the very first document rename
        lambda n, src, dst: n == 3,  # midway: two files already renamed in
        lambda n, src, dst: src.name == "tree",  # after every file was written: the tree swap
    ],
    ids=["first-rename", "midway", "tree-swap"],
)
def test_failure_anywhere_leaves_everything_as_it_was(project, monkeypatch, where):
    """An injected failure at any rename leaves every document, the pin and upstream/ byte-identical."""
    before = snapshot(project["root"])
    failing_replace(monkeypatch, where)
    with pytest.raises(RebaseError):
        run_commit(project)
    monkeypatch.undo()
    assert snapshot(project["root"]) == before


def test_copy_failure_changes_nothing(project):
    """If the new tree cannot be staged (it does not exist), nothing is written."""
    before = snapshot(project["root"])
    project["new_tree"] = project["new_tree"].with_name("absent")
    with pytest.raises(RebaseError):
        run_commit(project)
    assert snapshot(project["root"]) == before


def test_nothing_to_do_writes_nothing(project):
    """No documents, no pin move and no tree: not a byte changes."""
    root = project["root"]
    before = snapshot(root)
    commit({}, pin_file=root / "UPSTREAM_PIN.toml", pin_page=root / "UPSTREAM_PIN.md",
           new_pin=None, upstream=root / "upstream", new_tree=None)
    assert snapshot(root) == before


def test_pin_for_reads_the_commit_the_sdist_records(tmp_path):
    """The new pin's commit is the one vllm/_version.py records (``g`` prefix dropped)."""
    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "_version.py").write_text("__version__ = '0.2.0'\ncommit_id = 'g91df0fad4'\n")
    release = Release("vllm", "0.2.0", "vllm-0.2.0.tar.gz", "file:///x", "c" * 64)
    assert pin_for(release, tmp_path) == pin_mod.Pin("vllm", "0.2.0", "91df0fad4", "vllm-0.2.0.tar.gz", "c" * 64)


def test_pin_for_without_commit_pins_an_empty_commit(tmp_path):
    """A tree recording no commit id (most PyPI packages) pins commit ""; no sha256 is an error."""
    release = Release("vllm", "0.2.0", "vllm-0.2.0.tar.gz", "file:///x", "c" * 64)
    assert pin_for(release, tmp_path).commit == ""
    with pytest.raises(RebaseError, match="no sha256"):
        pin_for(Release("vllm", "0.2.0", "vllm-0.2.0.tar.gz", "file:///x", None), tmp_path)


def test_document_edited_meanwhile_is_not_overwritten(project):
    """If a document changed since it was scanned, the commit is refused and nothing is written."""
    root = project["root"]
    (root / "a.md").write_text("someone edited this\n")
    before = snapshot(root)
    with pytest.raises(RebaseError, match="changed while"):
        commit({root / "a.md": b"see x.py:5\n"}, pin_file=root / "UPSTREAM_PIN.toml",
               pin_page=root / "UPSTREAM_PIN.md", new_pin=NEW_PIN, upstream=root / "upstream",
               new_tree=project["new_tree"], scanned={root / "a.md": b"see x.py:1\n"})
    assert snapshot(root) == before
