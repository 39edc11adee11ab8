"""The composite GitHub Action (action.yml), its shell steps run in a foreign course repository.

GitHub itself is not here, so the test reads action.yml, checks each step names a script that
exists, and runs those scripts the way the runner would: in the course's working directory,
with the inputs as environment variables and ``GITHUB_STEP_SUMMARY`` pointing at a file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _steps() -> dict[str, dict]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    return {s["name"]: s for s in action["runs"]["steps"] if "name" in s}


def _run(step: dict, course, summary: Path, **inputs: str) -> subprocess.CompletedProcess:
    script = step["run"].split('"')[1].replace("${{ github.action_path }}", str(ROOT))
    assert Path(script).is_file(), script
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), **step.get("env", {}), **inputs}
    env = {k: ("" if "${{" in v else v) for k, v in env.items()}
    return subprocess.run(["bash", script], cwd=course.root, env=env, capture_output=True, text=True)


def test_verify_step_annotates_and_writes_the_job_summary(course, tmp_path):
    """verify.sh exits 1 on the rotted anchor, emits ::error for it, and fills the job summary."""
    assert shutil.which("annotate"), "the package's console script is on PATH after pip install"
    summary = tmp_path / "summary.md"
    done = _run(_steps()["Verify anchors"], course, summary)
    assert done.returncode == 1, done.stderr
    assert "::error file=src/phase-02-paged/01-deep-dive.md,line=6" in done.stdout
    assert "| src/phase-02-paged/01-deep-dive.md | 6 |" in summary.read_text()


def test_fetch_step_materialises_a_pinned_tree_then_verify_passes(course, tmp_path):
    """With a pin and no tree, the fetch step materialises it; a fixed course then verifies clean."""
    course.fix_rotted_anchor()
    subprocess.run(["annotate", "init"], cwd=course.root, check=True, capture_output=True)
    steps, summary = _steps(), tmp_path / "summary.md"
    assert "nothing to fetch" in _run(steps["Materialise the pinned tree"], course, summary).stdout
    shutil.rmtree(course.upstream)
    fetched = _run(steps["Materialise the pinned tree"], course, summary)
    assert fetched.returncode == 0 and "fetched tinyllm 0.1.0" in fetched.stdout, fetched.stderr
    done = _run(steps["Verify anchors"], course, summary)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "none broken" in summary.read_text()
