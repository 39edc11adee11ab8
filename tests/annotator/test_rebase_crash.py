"""A rebase killed (SIGKILL) at any step is completed or undone by the next command, never half-done.

The kill is injected, not timed: a forked child wraps ``os.replace``/``os.unlink`` so that it kills
itself just before its k-th call, for every k; the parent then runs the recovery every command
runs first and compares every file of the project (hidden ones included) with the state before or
after a complete rebase.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from annotator import fetch
from annotator import pin as pin_mod
from annotator.cli import main
from annotator.commands.recover import recover_pending
from annotator.config import Config
from annotator.errors import RebaseError
from annotator.rebase.commit import commit


def _load_sibling(name: str):
    """A sibling test module (tests are not a package here): the rebase command's fixture project."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"crash_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CMD = _load_sibling("test_rebase_cmd")
project = CMD.project  # the fixture: a project pinned to the fixture v0.1.0, v0.2.0 on a file:// index

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill is injected into a forked child")

OLD_PIN = pin_mod.Pin("vllm", "0.1.0", "1111111", "vllm-0.1.0.tar.gz", "a" * 64)
NEW_PIN = pin_mod.Pin("vllm", "0.2.0", "2222222", "vllm-0.2.0.tar.gz", "b" * 64)
NEW_DOCS = {"a.md": b"see x.py:5\n", "sub/b.py": b"# upstream: x.py:6\n"}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, hidden leftovers included, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def killed_at(
    k: int, log: Path, action: Callable[[], object], *, may_raise: bool = False, names=("replace", "unlink")
) -> list[str]:
    """Run ``action`` in a child that SIGKILLs itself just before its k-th call of ``os.<names>``.

    Returns the calls it made, one line each; the last is the one it died before, when it died.
    A child that was not killed must have finished cleanly (exit 0) unless ``may_raise``.
    """
    log.write_text("")
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND)
            count = [0]
            for name in names:
                real = getattr(os, name)

                def hooked(*args, _real=real, _name=name, **kwargs):
                    count[0] += 1
                    os.write(fd, f"{_name} {' '.join(map(str, args))}\n".encode())
                    if count[0] == k:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return _real(*args, **kwargs)

                setattr(os, name, hooked)
            action()
        except BaseException as exc:  # noqa: BLE001 - reported through the exit code and the log
            os.write(fd, f"raised {exc!r}\n".encode())
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    lines = log.read_text().splitlines()
    if not os.WIFSIGNALED(status) and not may_raise:
        assert os.WEXITSTATUS(status) == 0, lines[-3:]
    return lines


def journal_writes(calls: list[str]) -> list[int]:
    """1-based step numbers of the calls that renamed a new journal state in."""
    return [i for i, c in enumerate(calls, 1) if c.startswith("replace") and c.endswith("journal.json")]


def committed(calls: list[str]) -> bool:
    """True when the journal in its ``commit`` state was renamed in before the kill."""
    writes = journal_writes(calls)
    return len(writes) >= 2 and writes[1] < len(calls)


@pytest.fixture
def small(tmp_path: Path) -> dict:
    """A pristine project (two documents, pin, page, upstream/) and a new tree in a cache."""
    root = tmp_path / "proj"
    (root / "upstream" / "vllm").mkdir(parents=True)
    (root / "upstream" / "vllm" / "old.py").write_text("old = 1\n")
    (root / "sub").mkdir()
    (root / "a.md").write_text("see x.py:1\n")
    (root / "sub" / "b.py").write_text("# upstream: x.py:2\n")
    pin_mod.write(root / "UPSTREAM_PIN.toml", OLD_PIN)
    (root / "UPSTREAM_PIN.md").write_text(pin_mod.render_page(OLD_PIN))
    new_tree = tmp_path / "cache" / "vllm-0.2.0"
    (new_tree / "vllm").mkdir(parents=True)
    (new_tree / "vllm" / "new.py").write_text("new = 2\n")
    (new_tree / "vllm" / "more.py").write_text("more = 3\n")
    pristine = tmp_path / "pristine"
    shutil.copytree(root, pristine)
    return {"root": root, "new_tree": new_tree, "pristine": pristine, "log": tmp_path / "calls.log"}


def reset(small: dict) -> None:
    shutil.rmtree(small["root"])
    shutil.copytree(small["pristine"], small["root"])


def do_commit(small: dict, *, with_tree: bool = True) -> None:
    root = small["root"]
    commit(
        {root / name: data for name, data in NEW_DOCS.items()},
        pin_file=root / "UPSTREAM_PIN.toml",
        pin_page=root / "UPSTREAM_PIN.md",
        new_pin=NEW_PIN,
        upstream=root / "upstream",
        new_tree=small["new_tree"] if with_tree else None,
        scanned={root / name: (small["pristine"] / name).read_bytes() for name in NEW_DOCS},
    )


def recover(root: Path) -> None:
    """What every command does first (cli._config wraps its Config in this call)."""
    recover_pending(Config(root=root, upstream_dir=root / "upstream"))


@pytest.mark.parametrize("with_tree", [True, False], ids=["tree-swap", "no-tree (git checkout)"])
def test_kill_before_every_step_ends_all_old_or_all_new(small, with_tree):
    """Killed before any rename or unlink of the commit, the next command leaves the project
    exactly as before (killed before the journal) or exactly as after a complete rebase."""
    before = snapshot(small["root"])
    total = len(killed_at(10**6, small["log"], lambda: do_commit(small, with_tree=with_tree)))
    after = snapshot(small["root"])
    assert after["a.md"] == NEW_DOCS["a.md"] and ("upstream/vllm/new.py" in after) == with_tree
    assert total >= 8  # journal ×2, 4 files, (2 tree renames,) journal removal, clean-up
    outcomes = set()
    for k in range(1, total + 1):
        reset(small)
        calls = killed_at(k, small["log"], lambda: do_commit(small, with_tree=with_tree))
        assert len(calls) == k
        recover(small["root"])
        want = after if committed(calls) else before
        assert snapshot(small["root"]) == want, f"killed before {calls[-1]}"
        outcomes.add(want is after)
    assert outcomes == {True, False}


def test_kill_during_recovery_is_recovered_again(small):
    """A recovery that is itself killed at any step is finished by the next one."""
    full = killed_at(10**6, small["log"], lambda: do_commit(small))
    after = snapshot(small["root"])
    midway = journal_writes(full)[1] + 3  # two of the four files are renamed in
    reset(small)
    recovery = killed_at(midway, small["log"], lambda: do_commit(small))
    assert committed(recovery)
    steps = len(killed_at(10**6, small["log"], lambda: recover(small["root"])))
    assert steps >= 4
    for k in range(1, steps + 1):
        reset(small)
        killed_at(midway, small["log"], lambda: do_commit(small))
        assert len(killed_at(k, small["log"], lambda: recover(small["root"]))) == k
        recover(small["root"])
        assert snapshot(small["root"]) == after, f"recovery killed at step {k}"


def test_kill_during_tree_staging_leaves_a_git_ignored_dir_that_the_next_run_removes(small):
    """A kill while the new tree is copied leaves a staging dir git does not see; the next command
    deletes it and nothing else changed."""
    root = small["root"]
    before = snapshot(root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    real_copytree = shutil.copytree

    def copy_then_die(src, dst, *args, **kwargs):
        shutil.copy2(src, dst, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # one file of the tree copied

    def staged_commit():
        def copytree(src, dst, *args, **kwargs):
            if not args:  # the outer call; nested ones pass the copy function on positionally
                kwargs["copy_function"] = copy_then_die
            return real_copytree(src, dst, *args, **kwargs)

        shutil.copytree = copytree
        do_commit(small)

    killed_at(10**6, small["log"], staged_commit)
    left = [p for p in root.iterdir() if p.name.startswith(".upstream-rebase-")]
    assert len(left) == 1 and any(left[0].rglob("*.py"))
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                            capture_output=True, text=True, check=True).stdout
    assert status and ".upstream-rebase-" not in status
    recover(root)
    shutil.rmtree(root / ".git")
    assert snapshot(root) == before


def test_commit_in_progress_is_not_touched_by_another_command(small):
    """A staging dir whose owner is alive (its lock held) is neither recovered nor deleted."""
    from annotator import atomic

    root = small["root"]
    with atomic.staging_dir(root, ".upstream-rebase-") as live:
        (live / "tree").mkdir()
        recover(root)
        assert (live / "tree").is_dir()


def conflict_on_second_rename(small: dict, damage: Callable[[Path], None]) -> None:
    """Make someone else write ``sub/b.py`` right after a.md (the first document) is renamed in."""
    real = os.replace
    target, done = small["root"] / "a.md", []

    def replace(src, dst, *args, **kwargs):
        out = real(src, dst, *args, **kwargs)
        if Path(dst) == target and not done:
            done.append(damage(small["root"] / "sub" / "b.py"))
        return out

    os.replace = replace


@pytest.mark.parametrize(
    "damage, expect",
    [
        (lambda p: p.write_text("# edited by a person\n"), b"# edited by a person\n"),
        (lambda p: p.unlink(), None),
    ],
    ids=["edited", "deleted"],
)
def test_document_changed_just_before_its_rename_is_kept_and_the_commit_undone(small, damage, expect):
    """An edit (or a deletion) made after the first rename is neither overwritten nor undone: the
    commit fails naming the file, every other file is back as it was."""
    root = small["root"]
    before = snapshot(root)
    real = os.replace
    conflict_on_second_rename(small, damage)
    try:
        with pytest.raises(RebaseError, match=r"sub/b\.py: (changed|deleted) while the rebase ran"):
            do_commit(small)
    finally:
        os.replace = real
    now = snapshot(root)
    assert now.pop("sub/b.py", None) == expect
    before.pop("sub/b.py")
    assert now == before


def test_kill_while_undoing_a_conflict_ends_all_old(small):
    """Killed at any step of the roll-back of a conflicting commit, the next command finishes the
    roll-back: every file is old but the one a person edited, which keeps the edit."""
    root = small["root"]
    before = snapshot(root)
    edited = b"# edited by a person\n"
    want = dict(before, **{"sub/b.py": edited})

    def conflicting():
        conflict_on_second_rename(small, lambda p: p.write_bytes(edited))
        do_commit(small)

    calls = killed_at(10**6, small["log"], conflicting, may_raise=True)
    assert "changed while" in calls[-1] and snapshot(root) == want
    abort = journal_writes(calls)[2]  # the journal says "abort" from the step after this one
    assert len(calls) - abort >= 3
    for k in range(abort + 1, len(calls)):
        reset(small)
        killed_at(k, small["log"], conflicting, may_raise=True)
        recover(root)
        assert snapshot(root) == want, f"killed at step {k}"


def verify_json(capsys) -> list[dict]:
    """Every anchor's finding, as `annotate verify --format json` prints it (the next command)."""
    capsys.readouterr()
    main(["verify", "--format", "json"])
    return json.loads(capsys.readouterr().out)


def test_killed_rebase_command_is_finished_by_the_next_command(project, tmp_path, capsys):
    """`annotate rebase` killed before any of its renames: the next command (verify) resolves every
    anchor exactly as after no rebase or a complete one, documents, pin and upstream/ agree, and
    rebasing again gives exactly the bytes of one uninterrupted rebase."""
    notes, old_notes = project / "annotations" / "notes.md", (project / "annotations" / "notes.md").read_bytes()
    assert main(["rebase", "--to", "0.2.0", "--dry-run"]) == 0  # the target is fetched and indexed
    pristine, log = tmp_path / "pristine", tmp_path / "cmd.log"
    shutil.copytree(project, pristine, symlinks=True)
    findings = {"0.1.0": verify_json(capsys)}
    total = len(killed_at(10**6, log, lambda: main(["rebase", "--to", "0.2.0"]), names=("replace",)))
    assert notes.read_bytes() == CMD.expected_notes()
    findings["0.2.0"] = verify_json(capsys)
    assert findings["0.2.0"] != findings["0.1.0"] and total >= 8
    seen = set()
    for k in range(1, total + 1):
        shutil.rmtree(project)
        shutil.copytree(pristine, project, symlinks=True)
        os.chdir(project)  # the fixture's cwd was the folder just replaced (restored by monkeypatch)
        killed_at(k, log, lambda: main(["rebase", "--to", "0.2.0"]), names=("replace",))
        found = verify_json(capsys)
        version = pin_mod.read(project / "UPSTREAM_PIN.toml").version
        seen.add(version)
        assert found == findings[version], f"killed at rename {k}"
        assert fetch.read_marker(project / "upstream")["version"] == version
        assert notes.read_bytes() == (CMD.expected_notes() if version == "0.2.0" else old_notes)
        assert not [p for p in project.rglob("*") if p.name.endswith(".tmp") or "-rebase-" in p.name]
        assert main(["rebase", "--to", "0.2.0"]) == 0
        assert notes.read_bytes() == CMD.expected_notes(), f"killed at rename {k}"
    assert seen == {"0.1.0", "0.2.0"}  # kills before the journal undone, kills after it completed


def test_rebase_command_keeps_an_edit_made_just_before_its_rename(project, monkeypatch, capsys):
    """`annotate rebase`: a document edited after the first rename is not overwritten; the command
    exits 2 with one line naming it, and every other file, the pin and upstream/ are as before."""
    assert main(["rebase", "--to", "0.2.0", "--dry-run"]) == 0
    before = CMD.snapshot(project)
    mini, real, done = project / "minivllm" / "pool.py", os.replace, []

    def replace(src, dst, *args, **kwargs):
        out = real(src, dst, *args, **kwargs)
        if Path(dst).name == "notes.md" and not done:
            done.append(mini.write_text("# rewritten by a person meanwhile\n"))
        return out

    monkeypatch.setattr(os, "replace", replace)
    capsys.readouterr()
    assert main(["rebase", "--to", "0.2.0"]) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert done and "\n" not in err and f"{mini}: changed while the rebase ran" in err
    after = CMD.snapshot(project)
    assert after.pop("minivllm/pool.py") == b"# rewritten by a person meanwhile\n"
    before.pop("minivllm/pool.py")
    assert after == before
