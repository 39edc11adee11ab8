"""Tests for annotator.labs: the starter generator, lab metadata, the loader, and every real lab.

The last group is the contract of the labs themselves: each committed starter matches what the
generator makes from its solution, and each lab's tests fail on its starter (a lab whose tests
pass on an empty starter tests nothing). The passing-on-solution half runs in the normal suite,
which collects ``annotations/**/test_lab.py``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from annotator import cli, labs

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = re.compile(r"`[\w/.]+\.py:\d+ — [\w.]+(\(\))?`")


def dedent(text: str) -> str:
    """Strip the common indentation of a triple-quoted source snippet."""
    return textwrap.dedent(text).lstrip("\n")


BLANK_CASES = [
    (
        "function with docstring",
        ["add"],
        '''
        def add(a: int, b: int) -> int:
            """Sum."""
            return a + b
        ''',
        '''
        def add(a: int, b: int) -> int:
            """Sum."""
            # TODO: implement add
            raise NotImplementedError("lab: implement add")
        ''',
    ),
    (
        "method, sibling untouched, comments kept",
        ["Pool.take"],
        """
        class Pool:
            # a comment that must survive
            def take(self, n):  # trailing comment on the signature
                x = n * 2
                return x

            def keep(self):
                return 1
        """,
        """
        class Pool:
            # a comment that must survive
            def take(self, n):  # trailing comment on the signature
                # TODO: implement Pool.take
                raise NotImplementedError("lab: implement Pool.take")

            def keep(self):
                return 1
        """,
    ),
    (
        "one-line body and decorator",
        ["f"],
        """
        @cache
        def f(x): return x + 1
        """,
        """
        @cache
        def f(x):
            # TODO: implement f
            raise NotImplementedError("lab: implement f")
        """,
    ),
    (
        "nested function only",
        ["outer.inner"],
        """
        def outer():
            def inner():
                return 1
            return inner()
        """,
        """
        def outer():
            def inner():
                # TODO: implement outer.inner
                raise NotImplementedError("lab: implement outer.inner")
            return inner()
        """,
    ),
    (
        "same method name in two classes",
        ["B.run"],
        """
        class A:
            def run(self):
                return "a"


        class B:
            async def run(self):
                return "b"
        """,
        """
        class A:
            def run(self):
                return "a"


        class B:
            async def run(self):
                # TODO: implement B.run
                raise NotImplementedError("lab: implement B.run")
        """,
    ),
]


@pytest.mark.parametrize("name,targets,before,after", BLANK_CASES, ids=[c[0] for c in BLANK_CASES])
def test_blank_functions_before_after(name: str, targets: list[str], before: str, after: str):
    """Each targeted body becomes docstring + TODO + raise; everything else is byte-identical."""
    assert labs.blank_functions(dedent(before), targets) == dedent(after)


def test_blank_functions_emits_hints_in_order():
    """Hints become one '# TODO:' line each, in order, above the raise."""
    out = labs.blank_functions("def f():\n    return 1\n", ["f"], {"f": ["first", "second"]})
    assert out == (
        "def f():\n    # TODO: first\n    # TODO: second\n"
        '    raise NotImplementedError("lab: implement f")\n'
    )


def test_blank_functions_rejects_unknown_targets_and_bad_source():
    """A target that is not defined, or unparsable source, is a LabError naming the problem."""
    with pytest.raises(labs.LabError, match="missing"):
        labs.blank_functions("def f():\n    pass\n", ["f", "missing"])
    with pytest.raises(labs.LabError, match="cannot parse"):
        labs.blank_functions("def f(:\n", ["f"])


def fake_lab(phase: str, name: str, prereqs: tuple[str, ...] = ()) -> labs.Lab:
    """A Lab record with only the fields ordering looks at."""
    path = Path("/p/annotations") / phase / "labs" / name
    return labs.Lab(path, name, "CPU-OK", (), "solution.py", (), (), prereqs)


def test_recommended_order_is_stable_topological():
    """Phase order is kept unless a prerequisite comes later; unknown ids and cycles are errors."""
    a = fake_lab("phase-01-a", "lab-01-a")
    b = fake_lab("phase-01-a", "lab-02-b", ("phase-03-c/lab-01-c",))
    c = fake_lab("phase-03-c", "lab-01-c")
    d = fake_lab("phase-04-d", "lab-01-d")
    assert [x.name for x in labs.recommended_order([a, b, c, d])] == ["lab-01-a", "lab-01-c", "lab-02-b", "lab-01-d"]
    with pytest.raises(labs.LabError, match="unknown prerequisite"):
        labs.recommended_order([a, b])
    loop = fake_lab("phase-03-c", "lab-01-c", ("phase-01-a/lab-02-b",))
    with pytest.raises(labs.LabError, match="cycle"):
        labs.recommended_order([a, b, loop])


def write_lab(root: Path, toml: str, solution: str, test: str, name: str = "lab-01-demo") -> Path:
    """A lab folder inside a throwaway project at ``root``."""
    (root / "pyproject.toml").write_text('[tool.annotate]\nupstream_dir = "upstream"\n')
    lab = root / "annotations" / "phase-00-foundations" / "labs" / name
    lab.mkdir(parents=True)
    (lab / "lab.toml").write_text(dedent(toml))
    (lab / "solution.py").write_text(dedent(solution))
    (lab / "test_lab.py").write_text(dedent(test))
    return lab


DEMO_TOML = """
    title = "Demo"
    tag = "CPU-OK"
    skills = ["adding"]
    solution = "solution.py"
    functions = ["add"]
    """
DEMO_SOLUTION = '''
    """Demo solution."""


    def add(a, b):
        """Sum."""
        return a + b
    '''
DEMO_TEST = '''
    """Demo tests."""

    from annotator.labs import load_impl

    impl = load_impl(__file__)


    def test_add():
        """add adds."""
        assert impl.add(2, 3) == 5
    '''


@pytest.fixture
def demo(tmp_path: Path, monkeypatch) -> Path:
    """A throwaway project holding one lab; the cwd is the project."""
    write_lab(tmp_path, DEMO_TOML, DEMO_SOLUTION, DEMO_TEST)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_read_lab_validates(tmp_path: Path):
    """Missing keys and unknown tags are LabErrors that name the lab.toml."""
    lab = write_lab(tmp_path, 'title = "x"\ntag = "CPU-OK"\n', DEMO_SOLUTION, DEMO_TEST)
    with pytest.raises(labs.LabError, match="lab.toml: missing key"):
        labs.read_lab(lab)
    (lab / "lab.toml").write_text(dedent(DEMO_TOML).replace("CPU-OK", "TPU-ONLY"))
    with pytest.raises(labs.LabError, match="tag must be one of"):
        labs.read_lab(lab)


def test_load_impl_follows_lab_impl(demo: Path, monkeypatch):
    """LAB_IMPL picks the solution (default), the starter, or any file by path."""
    lab_dir = demo / "annotations/phase-00-foundations/labs/lab-01-demo"
    lab = labs.read_lab(lab_dir)
    (lab_dir / "starter.py").write_text(labs.make_starter(lab))
    (demo / "mine.py").write_text("def add(a, b):\n    return 40 + a + b\n")
    test_file = lab_dir / "test_lab.py"
    monkeypatch.delenv(labs.IMPL_ENV, raising=False)
    assert labs.load_impl(test_file).add(1, 1) == 2
    monkeypatch.setenv(labs.IMPL_ENV, "starter")
    with pytest.raises(NotImplementedError):
        labs.load_impl(test_file).add(1, 1)
    monkeypatch.setenv(labs.IMPL_ENV, str(demo / "mine.py"))
    assert labs.load_impl(test_file).add(1, 1) == 42


def test_stub_check_then_stub_then_fresh(demo: Path, capsys):
    """stub --check reports the missing starter (exit 1, prints the command); stub fixes it."""
    assert cli.main(["lab", "stub", "--check"]) == 1
    out = capsys.readouterr().out
    assert "starter.py" in out and labs.STUB_COMMAND in out
    assert cli.main(["lab", "stub"]) == 0
    starter = (demo / "annotations/phase-00-foundations/labs/lab-01-demo/starter.py").read_text()
    assert starter.startswith("# Starter for phase-00-foundations/lab-01-demo")
    assert 'raise NotImplementedError("lab: implement add")' in starter
    assert (demo / labs.INDEX_PAGE).is_file()
    assert cli.main(["lab", "stub", "--check"]) == 0


def test_lab_test_runs_solution_and_starter(demo: Path):
    """`lab test` exits 0 on the solution and non-zero on the blank starter; unknown labs exit 2."""
    assert cli.main(["lab", "stub"]) == 0
    assert cli.main(["lab", "test", "phase-00-foundations/lab-01-demo"]) == 0
    assert cli.main(["lab", "test", "lab-01-demo", "--starter"]) == 1
    assert cli.main(["lab", "test", "phase-00-foundations/lab-99-nothing"]) == 2


def test_lab_list_json(demo: Path, capsys):
    """`lab list --format json` prints one JSON array with each lab's id, tag and functions."""
    assert cli.main(["lab", "list", "--format", "json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["id"] == "phase-00-foundations/lab-01-demo"
    assert entry["tag"] == "CPU-OK" and entry["functions"] == ["add"]


# --- the real labs -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_labs() -> list[labs.Lab]:
    """Every lab committed in this repository."""
    return labs.discover(ROOT)


def test_coverage_targets(real_labs: list[labs.Lab]):
    """≥ 30 labs; a CPU-runnable lab in every phase 00–18; ≥ 4 labs in phases 02 and 03."""
    assert len(real_labs) >= 30
    by_phase = defaultdict(list)
    for lab in real_labs:
        by_phase[lab.phase.split("-")[1]].append(lab)
    for n in range(19):
        assert any(lab.tag in ("CPU-OK", "GPU-OPT") for lab in by_phase[f"{n:02d}"]), f"phase {n:02d}"
    assert len(by_phase["02"]) >= 4 and len(by_phase["03"]) >= 4


def test_lab_layout_and_metadata(real_labs: list[labs.Lab]):
    """Names are unique, prerequisites come earlier in the recommended order, each lab has its files."""
    assert len({lab.name for lab in real_labs}) == len(real_labs)
    position = {lab.lab_id: i for i, lab in enumerate(labs.recommended_order(real_labs))}
    for lab in real_labs:
        assert all(position[p] < position[lab.lab_id] for p in lab.prerequisites), lab.lab_id
        for name in ("README.md", "starter.py", "test_lab.py", "lab.toml"):
            assert (lab.path / name).is_file(), f"{lab.lab_id}: {name} missing"
        assert lab.solution_is_module != (lab.path / "solution.py").is_file(), lab.lab_id


def test_readmes_cite_upstream_and_tests_have_docstrings(real_labs: list[labs.Lab]):
    """Each README cites upstream in canonical form; each test function has a one-line docstring."""
    for lab in real_labs:
        readme = (lab.path / "README.md").read_text("utf-8")
        assert "## Upstream anchors" in readme and ANCHOR.search(readme), lab.lab_id
        tree = ast.parse((lab.path / "test_lab.py").read_text("utf-8"))
        tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        assert tests, lab.lab_id
        for fn in tests:
            doc = ast.get_docstring(fn)
            assert doc and "\n" not in doc, f"{lab.lab_id}::{fn.name} needs a one-line docstring"


def test_generated_files_are_fresh(real_labs: list[labs.Lab]):
    """Every committed starter and the index page equal what the generator produces now."""
    stale = [str(p.relative_to(ROOT)) for p in labs.stale_files(ROOT, real_labs)]
    assert not stale, f"stale generated files {stale}; regenerate with: {labs.STUB_COMMAND}"


def test_every_lab_test_fails_on_its_starter(real_labs: list[labs.Lab], tmp_path: Path):
    """One pytest run over all labs with LAB_IMPL=starter: every single lab test fails."""
    report = tmp_path / "starter.xml"
    files = [str(lab.path / "test_lab.py") for lab in real_labs]
    args = [sys.executable, "-m", "pytest", *files, "--import-mode=importlib", "-p", "no:cacheprovider",
            "-q", "-o", "junit_family=xunit1", f"--junitxml={report}", "-m", "not gpu"]  # fmt: skip
    env = {**os.environ, labs.IMPL_ENV: "starter"}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert report.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    outcomes: dict[str, list[str]] = defaultdict(list)
    for case in ET.parse(report).getroot().iter("testcase"):
        lab_dir = Path(case.get("file", "")).parent.as_posix()
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcomes[lab_dir].append("failed" if failed else "skipped" if skipped else "passed")
    rel = {lab.path.relative_to(ROOT).as_posix(): lab.lab_id for lab in real_labs}
    problems = []
    for lab_dir, lab_id in rel.items():
        results = outcomes.get(lab_dir, [])
        if not results:
            problems.append(f"{lab_id}: no tests collected on the starter")
        elif any(r != "failed" for r in results):
            problems.append(f"{lab_id}: {results.count('passed')} test(s) pass on the starter")
    assert not problems, "\n".join(problems)


def test_lab_list_text_names_every_lab(monkeypatch, capsys):
    """`annotate lab list` (text) prints every lab of the repository, grouped by phase."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    assert cli.main(["lab", "list"]) == 0
    out = capsys.readouterr().out
    assert all(lab.name in out for lab in labs.discover(root))
    assert "Phase 02" in out
