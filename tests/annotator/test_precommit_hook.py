"""The pre-commit hook this repository advertises, run for real in a foreign course repository.

``pre-commit try-repo`` clones this repository (uncommitted changes included), installs it into
a fresh virtual environment as a course author's pre-commit would, and runs the hook over the
course's staged markdown. Slow (one pip install), so there is exactly one such test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _try_repo(course, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    exe = shutil.which("pre-commit")
    assert exe, "pre-commit is a dev dependency: pip install -e '.[dev]'"
    return subprocess.run(
        [exe, "try-repo", str(ROOT), "annotate-verify", "--all-files"],
        cwd=course.root, env=env, capture_output=True, text=True, timeout=900,
    )


def _git(cwd: Path, *args: str) -> None:
    ident = ["-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True)


def test_hook_fails_on_the_rotted_anchor_then_passes(course, tmp_path):
    """The hook exits non-zero naming the broken anchor; once it is fixed the hook passes."""
    _git(course.root, "add", "book.toml", "src", "phase-03-batching")
    home = tmp_path / "pre-commit-home"
    first = _try_repo(course, home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "wrong-line" in first.stdout and "01-deep-dive.md" in first.stdout
    course.fix_rotted_anchor()
    _git(course.root, "add", "src")
    second = _try_repo(course, home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Passed" in second.stdout
