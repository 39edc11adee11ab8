"""Hostile input to the anchor scanner: huge lines, lookalike characters, broken bytes, odd trees.

Each case here once made the scanner hang, crash or quietly drop a citation (issue 14). The
size cases are regression guards on complexity, not speed claims (those live in
``bench/scan.py``): a quadratic scanner needs minutes on them, a linear one well under a second,
so the generous bounds below do not flake on a loaded machine.
"""

from __future__ import annotations

import time

import pytest

from annotator.anchors import scan_text
from annotator.anchors.grammar import scan_line

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


def test_citation_inside_an_earlier_label_is_not_a_second_citation() -> None:
    """Pruning covered hits early keeps the old rule: a hit inside an earlier label is part of it."""
    cites = scan_line("a.py:1 — see b.py:2 here, c.py:3")
    assert [(c.path, c.label) for c in cites] == [("a.py", "see b.py:2 here"), ("c.py", None)]
