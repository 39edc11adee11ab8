"""Tests for annotator.rebase.rewrite: only an anchor's path and line characters ever change."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.anchors import scan_text
from annotator.errors import RebaseError
from annotator.rebase.rebased import Edit, Location, Rebased
from annotator.rebase.rewrite import (
    apply_python,
    apply_spans,
    line_text,
    path_text,
    plan_document,
    rewrite_document,
)
from annotator.records import Anchor

NEW_PATHS = frozenset({
    "vllm/c/b.py", "vllm/d/other.py", "vllm/a/kv.py", "vllm/x/dup.py", "vllm/y/dup.py",
    "vllm/a/serve/utils/api.py", "csrc/stable/k.cu",
})


@pytest.mark.parametrize(
    "cited, old, new, expected",
    [
        ("vllm/a/b.py", "vllm/a/b.py", "vllm/c/b.py", "vllm/c/b.py"),
        ("b.py", "vllm/a/b.py", "vllm/c/b.py", "b.py"),  # still names exactly one file
        ("a/b.py", "vllm/a/b.py", "vllm/c/b.py", "c/b.py"),
        ("dup.py", "vllm/a/dup.py", "vllm/x/dup.py", "vllm/x/dup.py"),  # ambiguous now: spell it out
        ("b.py", "vllm/a/b.py", "vllm/d/other.py", "other.py"),
        ("../upstream/vllm/a/b.py", "vllm/a/b.py", "vllm/c/b.py", "../upstream/vllm/c/b.py"),
        ("vllm/a/kv.py", "vllm/a/kv.py", "vllm/a/kv.py", "vllm/a/kv.py"),
        ("vllm/a/utils.py", "vllm/a/utils.py", "vllm/a/serve/utils/api.py", "vllm/a/serve/utils/api.py"),
        ("csrc/k.cu", "csrc/k.cu", "csrc/stable/k.cu", "csrc/stable/k.cu"),  # deeper now
        ("upstream/csrc/k.cu", "csrc/k.cu", "csrc/stable/k.cu", "upstream/csrc/stable/k.cu"),
    ],
)
def test_path_text_keeps_the_written_form(cited, old, new, expected):
    """A moved path is rewritten in the form it was cited (prefix kept, basename kept while unique)."""
    assert path_text(cited, old, new, NEW_PATHS) == expected


@pytest.mark.parametrize(
    "cited, old, new, expected",
    [
        ("333", (333, None), (340, None), "340"),
        ("390–392", (390, 392), (395, 398), "395–398"),
        ("L390-L392", (390, 392), (9, 12), "L9-L12"),
        ("10-12", (10, 12), (10, None), "10-10"),
    ],
)
def test_line_text_replaces_only_digits(cited, old, new, expected):
    """Line numbers change; the ``L``, dashes and other characters of the range stay."""
    o = Location("p.py", old[0], old[1], None)
    n = Location("p.py", new[0], new[1], None)
    assert line_text(cited, o, n, "doc:1") == expected


def test_line_text_refuses_numbers_it_did_not_expect():
    """If the span does not hold the scanned numbers, nothing is guessed: RebaseError."""
    with pytest.raises(RebaseError):
        line_text("334", Location("p", 333, None, None), Location("p", 340, None, None), "doc:1")


def moved(a: Anchor, path: str, line: int, end: int | None = None, resolved: str | None = None) -> Rebased:
    """A record that moves anchor ``a`` (resolved to ``resolved``, default as cited) to ``path:line``."""
    old = Location(resolved or a.path, a.line, a.line_end, a.label)
    return Rebased(a, old, Location(path, line, end, a.label), "moved", False, 1.0)


MD_TEMPLATE = (
    "# Notes \u2014 caf\u00e9\r\n"
    "See `vllm/a/b.py:{a} \u2014 Pool.get()` and, trailing spaces,   \r\n"
    "| Pool | the pool | b.py:{b} |\r\n"
    "a link [x](../../upstream/vllm/a/b.py#L{c}-L{d}) and :{e} \u2014 continuation\r\n"
    "untouched `vllm/a/kv.py:{f}` stays"
)


def test_markdown_rewrite_is_bytewise_minimal(tmp_path):
    """Rewriting changes exactly the cited numbers and paths; CRLF, unicode and spacing stay."""
    old_nums = dict(a=10, b=11, c=12, d=14, e=20, f=5)
    new_nums = dict(a=110, b=111, c=112, d=114, e=120, f=5)
    doc = tmp_path / "notes.md"
    doc.write_bytes(MD_TEMPLATE.format(**old_nums).encode())
    anchors = scan_text(doc.read_text(), "notes.md")
    assert len(anchors) == 5
    shift = {10: 110, 11: 111, 12: 112, 14: 114, 20: 120}
    recs = [
        moved(a, "vllm/c/b.py" if "b.py" in a.path else a.path, shift.get(a.line, a.line),
              shift.get(a.line_end) if a.line_end else None,
              resolved="vllm/a/b.py" if "b.py" in a.path else None)
        for a in anchors
    ]
    edits, final = plan_document(doc.read_text(), recs, {"vllm/c/b.py", "vllm/a/kv.py"})
    assert [r.status for r in final] == ["moved"] * 5
    out = rewrite_document(doc, "notes.md", doc.read_bytes(), edits)
    expected = MD_TEMPLATE.format(**new_nums).replace("vllm/a/b.py", "vllm/c/b.py")
    assert out == expected.encode()


def test_continuation_that_would_change_file_becomes_missing(tmp_path):
    """A continuation names no file: if its definition moved to another file it is not rewritten."""
    text = "`vllm/a/b.py:10 \u2014 Pool.get()` then :20 \u2014 Other.run()\n"
    head, cont = scan_text(text, "n.md")
    recs = [moved(head, "vllm/a/b.py", 12), moved(cont, "vllm/d/other.py", 30)]
    edits, final = plan_document(text, recs, NEW_PATHS)
    assert final[1].status == "missing" and "continuation" in final[1].message
    assert apply_spans(text, edits) == text.replace(":10 ", ":12 ")


PY_DOC = '''"""Mini pool.

Mirrors upstream/vllm/a/b.py:10 \u2014 Pool.get() closely.
"""

TABLE = {"not an anchor": "vllm/a/b.py:10"}  # upstream: vllm/a/b.py:12-14 \u2014 Pool.put()


def get(x):
    \'\'\'Docstring cites vllm/a/b.py:20 \u2014 Pool.get().\'\'\'
    return x[1:10]
'''


def test_python_rewrite_touches_comments_and_docstrings_only(tmp_path):
    """libcst rewrites the anchors in the docstring and comment; the code's string stays."""
    doc = tmp_path / "pool.py"
    doc.write_text(PY_DOC)
    anchors = scan_text(PY_DOC, "pool.py", python=True)
    assert [a.line for a in anchors] == [10, 12, 20]
    recs = [moved(a, "vllm/c/b.py", a.line + 100, a.line_end + 100 if a.line_end else None) for a in anchors]
    edits, _ = plan_document(PY_DOC, recs, NEW_PATHS)
    out = rewrite_document(doc, "pool.py", doc.read_bytes(), edits).decode()
    expected = (
        PY_DOC.replace("upstream/vllm/a/b.py:10", "upstream/vllm/c/b.py:110")
        .replace("# upstream: vllm/a/b.py:12-14", "# upstream: vllm/c/b.py:112-114")
        .replace("cites vllm/a/b.py:20", "cites vllm/c/b.py:120")
    )
    assert out == expected
    assert '"vllm/a/b.py:10"}' in out


def test_python_edit_outside_comments_is_refused():
    """An edit that would land in code (not a comment or docstring) raises; nothing is produced."""
    line = PY_DOC.split("\n").index('TABLE = {"not an anchor": "vllm/a/b.py:10"}  # upstream: vllm/a/b.py:12-14 \u2014 Pool.put()') + 1
    start = PY_DOC.split("\n")[line - 1].index("10")
    bad = Edit("pool.py", line, start, start + 2, "10", "99")
    with pytest.raises(RebaseError):
        apply_python(PY_DOC, [bad], "pool.py")


def test_unparsable_python_document_is_an_error():
    """A Python document libcst cannot parse is refused rather than edited blindly."""
    with pytest.raises(RebaseError):
        apply_python("def f(:\n    # upstream: a.py:1\n", [Edit("x.py", 2, 16, 17, "1", "2")], "x.py")


def test_stale_span_is_refused():
    """If the document changed since scanning (span text differs), the edit is refused."""
    with pytest.raises(RebaseError):
        apply_spans("see a.py:12\n", [Edit("d", 1, 9, 11, "13", "20")])


def test_no_edits_means_no_new_bytes(tmp_path: Path):
    """A document without edits yields None (it is not rewritten at all)."""
    doc = tmp_path / "d.md"
    doc.write_text("x")
    assert rewrite_document(doc, "d.md", b"x", []) is None


def test_python_rewrite_survives_fstrings_with_nested_strings(tmp_path):
    """Strings nested in an f-string do not shift which docstring or comment gets the edit."""
    text = (
        'msg = f"act {cfg[\'hidden_act\']!r} bad"\n'
        'x = "plain"\n'
        'def f():\n'
        '    """See vllm/a/b.py:10 \u2014 Pool.get()."""\n'
        '    return 1  # upstream: vllm/a/b.py:12\n'
    )
    anchors = scan_text(text, "m.py", python=True)
    recs = [moved(a, a.path, a.line + 5) for a in anchors]
    edits, _ = plan_document(text, recs, NEW_PATHS)
    assert apply_python(text, edits, "m.py") == text.replace(":10 ", ":15 ").replace(":12\n", ":17\n")


def test_dry_run_bytes_equal_libcst_bytes(tmp_path):
    """Skipping libcst (dry run) yields exactly the bytes the libcst rewrite produces."""
    doc = tmp_path / "pool.py"
    doc.write_text(PY_DOC)
    anchors = scan_text(PY_DOC, "pool.py", python=True)
    edits, _ = plan_document(PY_DOC, [moved(a, "vllm/c/b.py", a.line + 7) for a in anchors], NEW_PATHS)
    data = doc.read_bytes()
    assert rewrite_document(doc, "pool.py", data, edits, through_cst=False) == rewrite_document(doc, "pool.py", data, edits)


def renamed(a: Anchor, path: str, line: int, label: str) -> Rebased:
    old = Location(a.path, a.line, a.line_end, a.label)
    return Rebased(a, old, Location(path, line, None, label), "renamed", False, 0.8)


@pytest.mark.parametrize(
    "doc, old_label, new_label, expected",
    [
        ("See `vllm/a/b.py:10 — BlockTable.compute_slot_mapping()` here.\n",
         "BlockTable.compute_slot_mapping()", "BlockTables.compute_slot_mappings()",
         "See `vllm/a/b.py:12 — BlockTables.compute_slot_mappings()` here.\n"),
        ("| BlockTable.compute_slot_mapping | fills slots | `vllm/a/b.py:10` |\n",
         "BlockTable.compute_slot_mapping", "BlockTables.compute_slot_mappings",
         "| BlockTables.compute_slot_mappings | fills slots | `vllm/a/b.py:12` |\n"),
    ],
)
def test_renamed_label_is_rewritten_with_path_and_line(doc, old_label, new_label, expected):
    """A renamed anchor's dotted name changes with its line; ``()``, dashes and every other byte stay."""
    [a] = scan_text(doc, "d.md")
    assert a.label == old_label
    edits, recs = plan_document(doc, [renamed(a, "vllm/a/b.py", 12, new_label)], NEW_PATHS)
    assert apply_spans(doc, edits) == expected and "by hand" not in recs[0].message


def test_label_written_twice_on_the_line_is_left_and_flagged():
    """When the old name occurs twice outside the anchor, nothing is guessed: the record says so."""
    from dataclasses import replace

    doc = "f and f again: `vllm/a/b.py:10` | f |\n"
    [a] = scan_text(doc, "d.md")
    a = replace(a, label="f", label_kind="symbol")
    edits, recs = plan_document(doc, [renamed(a, "vllm/a/b.py", 12, "g")], NEW_PATHS)
    assert apply_spans(doc, edits) == "f and f again: `vllm/a/b.py:12` | f |\n"
    assert "edit it by hand" in recs[0].message
