"""Tests for annotator.labs.mutants: every lab's tests must kill every plausible learner bug listed for it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from textwrap import dedent

import pytest

from annotator import labs

ROOT = Path(__file__).resolve().parents[2]

SOLUTION = '''
    """Demo solution."""


    def clamp(x, lo, hi):
        """x limited to [lo, hi]."""
        return max(lo, min(x, hi))


    def helper():
        """Not a lab function."""
        return 1
    '''


def _lab(tmp_path: Path, mutants: str) -> labs.Lab:
    """A throwaway lab (solution, test, mutants.toml) under tmp_path."""
    lab = tmp_path / "annotations" / "phase-00-x" / "labs" / "lab-01-demo"
    lab.mkdir(parents=True)
    (lab / "lab.toml").write_text('title = "d"\ntag = "CPU-OK"\nskills = ["s"]\nsolution = "solution.py"\nfunctions = ["clamp"]\n')
    (lab / "solution.py").write_text(dedent(SOLUTION))
    (lab / "test_lab.py").write_text(
        '"""t."""\nfrom annotator.labs import load_impl\nimpl = load_impl(__file__)\n\n\n'
        'def test_clamp():\n    """clamps."""\n    assert impl.clamp(5, 0, 3) == 3\n'
    )
    (lab / labs.MUTANTS_FILE).write_text(dedent(mutants))
    return labs.read_lab(lab)


def test_apply_edits_the_solution_inside_the_lab_functions(tmp_path: Path):
    """A mutant's edits are applied to the solution's text; names and reasons are read."""
    lab = _lab(tmp_path, """
        [[mutant]]
        name = "no-upper"
        why = "forgets hi"
        edits = [["max(lo, min(x, hi))", "max(lo, x)"]]

        [[mutant]]
        name = "swap"
        why = "argument order"
        edits = [["max(lo, min(x, hi))", "min(hi, max(x, lo))"]]
        equivalent = "same function on every input with lo <= hi"
        """)
    first, second = labs.read_mutants(lab)
    assert first.name == "no-upper" and first.equivalent is None and second.equivalent
    assert "return max(lo, x)" in labs.apply_mutant(lab, first)


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ('[["nowhere", "x"]]', "found 0 times"),
        ('[["lo", "x"]]', "need exactly 1"),
        ('[["return 1", "return 2"]]', "outside the lab's functions"),
        ('[["max(lo, min(x, hi))", "max(lo,"]]', "does not compile"),
        ('"not a list"', "edits must be"),
    ],
)
def test_bad_mutants_are_errors_naming_the_file(tmp_path: Path, edits: str, message: str):
    """Missing, ambiguous, out-of-scope or uncompilable edits are LabErrors naming mutants.toml."""
    lab = _lab(tmp_path, f'[[mutant]]\nname = "m"\nwhy = "w"\nedits = {edits}\n')
    with pytest.raises(labs.LabError, match=message) as info:
        for mutant in labs.read_mutants(lab):
            labs.apply_mutant(lab, mutant)
    assert labs.MUTANTS_FILE in str(info.value)


def test_load_impl_takes_a_lab_mutant_from_a_directory(tmp_path: Path, monkeypatch):
    """LAB_IMPL=<dir> loads the lab's mutant from it, and the solution for a lab with none there."""
    lab = _lab(tmp_path, '[[mutant]]\nname = "m"\nwhy = "w"\nedits = [["max(lo, min(x, hi))", "x"]]\n')
    out = tmp_path / "round"
    out.mkdir()
    monkeypatch.setenv(labs.IMPL_ENV, str(out))
    assert labs.load_impl(lab.path / "test_lab.py").clamp(5, 0, 3) == 3
    assert [m.name for _, m in labs.write_round([lab], 0, out)] == ["m"]
    assert labs.load_impl(lab.path / "test_lab.py").clamp(5, 0, 3) == 5
    assert labs.write_round([lab], 1, tmp_path) == []


# --- the real labs -------------------------------------------------------------------------

ISSUE_17_BUGS = {
    "preempted-requeued-at-back", "waiting-head-overtaken", "num-cached-tokens-overwritten",
    "seat-limit-ignores-forks", "drafts-kept-through-preemption", "admits-after-preemption",
}  # fmt: skip


@pytest.fixture(scope="module")
def real_labs() -> list[labs.Lab]:
    """Every lab committed in this repository (GPU-only labs excluded: CI has no GPU)."""
    return [lab for lab in labs.discover(ROOT) if lab.tag != "GPU-REQ"]


def test_every_lab_lists_mutants_that_apply(real_labs: list[labs.Lab]):
    """Each lab has at least two mutants; each applies cleanly; equivalents say why."""
    for lab in real_labs:
        mutants = labs.read_mutants(lab)
        assert len(mutants) >= 2, f"{lab.lab_id}: needs a {labs.MUTANTS_FILE} with >= 2 mutants"
        for mutant in mutants:
            labs.apply_mutant(lab, mutant)
            assert mutant.equivalent is None or len(mutant.equivalent) > 10, (lab.lab_id, mutant.name)


def test_the_scheduler_bugs_that_once_survived_are_listed(real_labs: list[labs.Lab]):
    """The six learner bugs found surviving in issue 17 are all planted in the whole-scheduler lab."""
    (lab,) = [lab for lab in real_labs if lab.name == "lab-06-scheduler"]
    assert ISSUE_17_BUGS <= {m.name for m in labs.read_mutants(lab)}


def _run_round(real_labs: list[labs.Lab], k: int, tmp_path: Path) -> list[str]:
    """Run every lab's k-th mutant in one pytest process; the names of the mutants that survived."""
    out = tmp_path / f"round-{k}"
    out.mkdir()
    written = labs.write_round(real_labs, k, out)
    if not written:
        return []
    report = tmp_path / f"round-{k}.xml"
    files = [str(lab.path / "test_lab.py") for lab, _ in written]
    args = [sys.executable, "-m", "pytest", *files, "--import-mode=importlib", "-p", "no:cacheprovider", "-p", "no:xdist",
            "-p", "annotator.labs.failfast",
            "-q", "-o", "junit_family=xunit1", f"--junitxml={report}", "-m", "not gpu"]  # fmt: skip
    try:
        proc = subprocess.run(args, cwd=ROOT, env={**os.environ, labs.IMPL_ENV: str(out)}, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mutant round {k} ran over 900 s; one of these mutants makes its lab's tests hang: "
                    + ", ".join(f"{lab.lab_id}:{m.name}" for lab, m in written))
    assert report.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    failures: dict[str, int] = defaultdict(int)
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failures[Path(case.get("file", "")).parent.as_posix()] += 1
    return [
        f"{lab.lab_id}: mutant {mutant.name!r} survived ({mutant.why})"
        for lab, mutant in written
        if not failures[lab.path.relative_to(ROOT).as_posix()]
    ]


def test_every_mutant_is_killed(real_labs: list[labs.Lab], tmp_path: Path):
    """Round k runs the k-th live mutant of every lab at once; every lab's tests fail on each."""
    rounds = max(len([m for m in labs.read_mutants(lab) if m.equivalent is None]) for lab in real_labs)
    survivors = [s for k in range(rounds) for s in _run_round(real_labs, k, tmp_path)]
    assert not survivors, "\n".join(survivors)
