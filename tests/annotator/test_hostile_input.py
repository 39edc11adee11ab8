"""Hostile input to the anchor scanner: huge lines, lookalike characters, broken bytes, odd trees.

Each case here once made the scanner hang, crash or quietly drop a citation (issue 14). The
size cases are regression guards on complexity, not speed claims (those live in
``bench/scan.py``): a quadratic scanner needs minutes on them, a linear one well under a second,
so the generous bounds below do not flake on a loaded machine.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.anchors import iter_documents, scan_text
from annotator.anchors.grammar import scan_line
from annotator.cli import main

LINEAR_BOUND_S = 10.0  # the quadratic scanner took 177 s on the dash case, 18 s on 8k anchors


def _timed_scan(text: str, *, python: bool = False) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = len(scan_text(text, "d.md", python=python))
    return n, time.perf_counter() - t0


@pytest.mark.parametrize(
    ("text", "anchors"),
    [
        ("a.py:1-" * 30000, 1),  # each hit's label ran to the end of the line
        ("see a/b.py:12 — Foo.bar, " * 40000, 40000),  # overlap checks rescanned every earlier cite
        ("a.py:1 — Foo.bar x " * 40000, 40000),  # a code-like head still scanned the clause
        ("`a.py:3` " * 40000, 40000),  # code spans searched one by one
        ("`a.py:1 b.py:2 c.py:3 " * 20000 + "`", 60000),  # the rest of a span sliced per cite
        ("[x](upstream/a.py#L3) " * 40000, 40000),  # the line re-built per link
        ("a.py:1 — x, :12 — y, " * 30000, 60000),  # continuations checked against every cite
        ("| `Foo` | a.py:1 " * 30000 + "|", 30000),  # table cells searched per cite
    ],
    ids=["dash-run", "labels", "coded-head", "code-spans", "one-span", "links", "continuations", "table"],
)
def test_one_huge_line_scans_in_linear_time(text: str, anchors: int) -> None:
    """A single line of tens of thousands of citations is scanned in well under the bound."""
    n, seconds = _timed_scan(text)
    assert n == anchors
    assert seconds < LINEAR_BOUND_S, f"{seconds:.1f} s for {len(text)} characters"


@pytest.mark.parametrize(
    "text",
    [
        "x" * 200_000 + "@ :1",  # URL scheme search from every letter of a long word
        ":1 <" + "a@" * 100_000,  # an e-mail autolink that backtracks over every @
        "a.py:1 — x" + " " * 200_000 + "y",  # a dash search from every blank of a long gap
        "[" * 100_000 + "] ](:1",  # link text searched from every bracket
        "`" + "``" * 3 + "```" * 300 + " a.py:1 " + "".join("`" * k + " " for k in range(4, 1200)),
    ],
    ids=["scheme", "address", "blank-gap", "brackets", "backtick-runs"],
)
def test_pathological_lines_scan_in_linear_time(text: str) -> None:
    """Lines built to make the regular expressions backtrack are scanned quickly all the same."""
    _, seconds = _timed_scan(text)
    assert seconds < LINEAR_BOUND_S, f"{seconds:.1f} s"


def test_blank_lines_in_a_list_are_linear() -> None:
    """A list followed by a long run of blank lines does not look ahead once per blank line."""
    text = "- a.py:1\n" + "\n" * 200_000 + "  :2 — more\n"
    n, seconds = _timed_scan(text)
    assert n == 2 and seconds < LINEAR_BOUND_S


def test_continuation_number_inside_a_later_path_is_not_a_citation() -> None:
    """In ``:12../a.py:3`` the "12" belongs to the path: no continuation whose span overlaps it."""
    assert [(c.path, c.line) for c in scan_line("x.py:1 :12../a.py:3")] == [("x.py", 1), ("12../a.py", 3)]


def test_citation_inside_an_earlier_label_is_not_a_second_citation() -> None:
    """Pruning covered hits early keeps the old rule: a hit inside an earlier label is part of it."""
    cites = scan_line("a.py:1 — see b.py:2 here, c.py:3")
    assert [(c.path, c.label) for c in cites] == [("a.py", "see b.py:2 here"), ("c.py", None)]


LOOKALIKE_DASHES = ["\u2212", "\u2010", "\u2011", "\u2012", "\u2015", "\ufe58", "\ufe63", "\uff0d"]


@pytest.mark.parametrize("dash", LOOKALIKE_DASHES, ids=[f"U+{ord(d):04X}" for d in LOOKALIKE_DASHES])
def test_lookalike_dash_separates_the_label(dash: str) -> None:
    """A minus sign or another dash lookalike before the label keeps the label (it was dropped)."""
    for line in (f"a.py:3 {dash} Foo.bar", f"a.py:3{dash}Foo.bar", f"`a.py:3 {dash} Foo.bar`"):
        (c,) = scan_line(line)
        assert (c.line, c.label) == (3, "Foo.bar"), line


HYPHENS = ["\u2212", "\u2010", "\u2011", "\u2012", "\ufe63", "\uff0d"]


@pytest.mark.parametrize("dash", HYPHENS, ids=[f"U+{ord(d):04X}" for d in HYPHENS])
def test_hyphen_lookalike_makes_a_range(dash: str) -> None:
    """``a.py:390−392`` is the range 390–392 when a hyphen lookalike joins it."""
    (c,) = scan_line(f"see a.py:390{dash}392 here")
    assert (c.line, c.line_end) == (390, 392)


@pytest.mark.parametrize("dash", ["\u2014", "\u2015", "\ufe58"])
def test_em_dash_lookalike_before_a_number_starts_a_label(dash: str) -> None:
    """An em dash (or lookalike) starts a label even before digits, as before: no range."""
    (c,) = scan_line(f"a.py:390{dash}392 here")
    assert (c.line, c.line_end, c.label) == (390, None, "392 here")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a.py:12345678", 12345678),
        ("a.py:123456789012 — Foo", 123456789012),
        ("a.py:L99999999-L100000000", 99999999),
        ("a.py:-3 — Foo", -3),
        ("a.py:\u22123", -3),
    ],
)
def test_huge_and_negative_line_numbers_are_citations(text: str, line: int) -> None:
    """Eight or more digits, or a minus sign, make a citation the resolver reports, not silence."""
    (c,) = scan_line(text)
    assert c.line == line and c.path == "a.py"
    assert text[c.line_span[0] : c.line_span[1]].lstrip("-\u2212L").startswith(str(abs(line)))


def test_a_line_number_of_thousands_of_digits_is_capped_not_a_crash() -> None:
    """int() refuses more than 4,300 digits; the citation is kept with a number past any file."""
    (c,) = scan_line("a.py:" + "7" * 10_000)
    assert c.line >= 10**18


@pytest.mark.parametrize("digits", ["\u0663", "\u0663\u0664", "\uff13", "\u09e9"])
def test_line_numbers_are_ascii_digits_only(digits: str) -> None:
    """Arabic-Indic, fullwidth or Bengali digits are not read as line numbers."""
    assert [c.line for c in scan_line(f"a.py:{digits} and :{digits}")] == []
    assert [c.line for c in scan_line(f"a.py:1{digits}")] == []  # nor glued onto ASCII ones


def test_slices_in_prose_are_not_negative_continuations() -> None:
    """``x[:-1]`` and ``(:-1)`` after a citation are not a continuation citing line -1."""
    assert [c.line for c in scan_line("a.py:3 then x[:-1] and (:-1)")] == [3]


GOLDEN_TREE = Path(__file__).parent / "golden" / "tree"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project over a copy of the toy tree, with one good annotation."""
    shutil.copytree(GOLDEN_TREE, tmp_path / "upstream")
    (tmp_path / "pyproject.toml").write_text('[tool.annotate]\nupstream_dir = "upstream"\n', "utf-8")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "good.md").write_text(GOOD, "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / ".cache"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


GOOD = "- `pkg/core/block_pool.py:20 — BlockPool.get_new_blocks()` hands out blocks\n"


def _verify_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    code = main(["verify", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_lookalike_dash_label_is_checked_end_to_end(project: Path, capsys) -> None:
    """With a minus sign before it, a wrong label is still caught: the label is not dropped."""
    doc = project / "notes.md"
    doc.write_text("`pkg/core/block_pool.py:20 \u2212 BlockPool.nope()`\n", "utf-8")
    code, (record,), _ = _verify_json(capsys, str(doc))
    assert code == 1 and record["label"] == "BlockPool.nope()" and record["status"] != "ok"


@pytest.mark.parametrize("line", ["12345678", "-3", "\u22123", "99999999999999999999999"])
def test_out_of_range_line_numbers_fail_the_run(project: Path, capsys, line: str) -> None:
    """Eight or more digits, or a negative number, is a ``line-out-of-range`` finding and exit 1."""
    doc = project / "notes.md"
    doc.write_text(f"see pkg/core/block_pool.py:{line} here\n", "utf-8")
    code, (record,), _ = _verify_json(capsys, str(doc))
    assert code == 1 and record["status"] == "line-out-of-range"


@pytest.mark.parametrize(
    ("data", "what"),
    [(b"ok\n\x00 pkg/core/block_pool.py:20\n", "binary"), (b"ok\ncaf\xe9 pkg/core/block_pool.py:20\n", "not UTF-8")],
)
def test_unreadable_named_document_fails_with_one_line(project: Path, capsys, data: bytes, what: str) -> None:
    """A named document with a NUL or an invalid byte exits 2 with ``path:line: ...``, no traceback."""
    bad = project / "bad.md"
    bad.write_bytes(data)
    code, records, err = _verify_json(capsys, str(bad), "annotations/good.md")
    assert code == 2
    assert [r["status"] for r in records] == ["ok"]  # the readable document is still checked
    (message,) = err.strip().splitlines()
    assert message.startswith(f"error: {bad}:2: ") and what in message and "Traceback" not in err


def test_unreadable_configured_document_fails_the_run(project: Path, capsys) -> None:
    """A configured document (no PATH given) that cannot be read fails the run too: exit 2."""
    (project / "annotations" / "blob.md").write_bytes(b"\x00")
    assert main(["verify"]) == 2
    assert "annotations/blob.md:1: binary" in capsys.readouterr().err


def test_very_deep_document_tree_is_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree over 1,000 folders deep is walked without RecursionError; its document is found."""
    deep = tmp_path / "top"
    deep.mkdir()
    monkeypatch.chdir(deep)  # build it relative, one level at a time (os.makedirs itself recurses)
    for _ in range(1200):  # deeper than a 1,000-frame stack, shallower than PATH_MAX allows
        os.mkdir("d")
        os.chdir("d")
    Path("note.md").write_text("x", "utf-8")
    os.chdir(tmp_path)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # the default; another test (or library) may have raised it
    try:
        assert [p.name for p in iter_documents([deep])] == ["note.md"]
    finally:
        sys.setrecursionlimit(limit)
        _remove_deep(deep)


def _remove_deep(top: Path) -> None:
    """Delete the deep tree bottom-up without recursion (shutil.rmtree, and so pytest's own
    clean-up of old temporary directories, would hit the recursion limit on it)."""
    dirs = [top]
    while (dirs[-1] / "d").is_dir():
        dirs.append(dirs[-1] / "d")
    (dirs[-1] / "note.md").unlink()
    for d in reversed(dirs):
        os.rmdir(d)


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    """A symlink to a folder (outside the PATH, or back up to it) is not followed."""
    top = tmp_path / "docs"
    (top / "a").mkdir(parents=True)
    (top / "a" / "one.md").write_text("x", "utf-8")
    (top / "two.md").write_text("x", "utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("x", "utf-8")
    (top / "a" / "loop").symlink_to(top, target_is_directory=True)
    (top / "out").symlink_to(outside, target_is_directory=True)
    assert sorted(p.relative_to(top).as_posix() for p in iter_documents([top])) == ["a/one.md", "two.md"]


PIECES = [
    "a.py", "vllm/x/y.py", "upstream/", "../", ":12", ":L3", "-L5", ":-4", "–7", "\u22128", " — ", " \u2212 ",
    " - ", "--", "`", "``", "```", "|", " | ", "[t](upstream/a.py#L3)", "[", "]", "](", "#L9", " L4", "(", ")",
    "http://", "<a@b>", "@", "Foo.bar()", "x_y", "CamelCase", ", ", ". ", ";", "*", "~", "12345678",
    "\u0663", " ", "   ", "\t", "é", "x[1:2]", "12:30",
]  # fmt: skip
unit = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), min_size=1, max_size=12).map("".join)
long_line = st.tuples(unit, st.integers(200, 3000), unit).map(lambda t: t[0] * t[1] + t[2])
FUZZ_LINE_BOUND_S = 5.0  # lines here are at most ~150 kB; the quadratic scanner took minutes on such


@settings(max_examples=60, deadline=None, derandomize=True)
@given(line=long_line)
def test_fuzzed_long_lines_scan_fast_and_consistently(line: str) -> None:
    """A long line of repeated anchor-like pieces scans quickly; cites are in order and in bounds, and
    the characters a rebase may rewrite (path and line spans) never overlap between citations."""
    line = line.replace("\n", " ").replace("\r", " ")
    t0 = time.perf_counter()
    cites = scan_line(line)
    assert time.perf_counter() - t0 < FUZZ_LINE_BOUND_S
    rewritable = sorted(s for c in cites for s in (c.path_span, c.line_span) if s is not None)
    assert all(a[1] <= b[0] for a, b in zip(rewritable, rewritable[1:]))  # rebase's spans never overlap
    assert [c.start for c in cites] == sorted(c.start for c in cites)
    for c in cites:
        assert 0 <= c.start < c.end <= len(line)
        assert line[c.line_span[1] - 1].isdigit() and line[c.line_span[1] - 1].isascii()
        if c.path_span is not None:
            assert line[c.path_span[0] : c.path_span[1]] == c.path


@settings(max_examples=25, deadline=None, derandomize=True)
@given(unit=unit, rows=st.integers(100, 2000), python=st.booleans())
def test_fuzzed_long_documents_scan_fast(unit: str, rows: int, python: bool) -> None:
    """Many lines of the same anchor-like text, as markdown or Python, scan quickly and in order."""
    text = "\n".join([f"# {unit}" if python else unit] * rows)
    t0 = time.perf_counter()
    anchors = scan_text(text, "d.py" if python else "d.md", python=python)
    assert time.perf_counter() - t0 < FUZZ_LINE_BOUND_S
    assert [a.doc_line for a in anchors] == sorted(a.doc_line for a in anchors)
