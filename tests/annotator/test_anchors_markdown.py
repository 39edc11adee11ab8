"""Markdown blocks: which paragraph, list or table a continuation belongs to; fences; table labels."""

from __future__ import annotations

import textwrap

from annotator.anchors.markdown import scan_markdown


def _scan(text: str) -> list[tuple]:
    doc = textwrap.dedent(text).lstrip("\n")
    return [(a.doc_line, a.path, a.line, a.label) for a in scan_markdown(doc, "d.md")]


def test_continuation_within_a_paragraph() -> None:
    """A continuation on the paragraph's next line takes the file cited above it."""
    assert _scan("""
        The pool `a/pool.py:10` frees blocks
        at :20 — the free loop.
        """) == [(1, "a/pool.py", 10, None), (2, "a/pool.py", 20, "the free loop")]


def test_blank_line_ends_a_paragraph() -> None:
    """After a blank line a new paragraph starts, and a bare `:20` no longer refers back."""
    assert _scan("""
        The pool `a/pool.py:10`.

        Time :20 is not an anchor.
        """) == [(1, "a/pool.py", 10, None)]


def test_a_list_continues_across_blank_lines_between_items() -> None:
    """In a loose list, the next item's continuation still refers to the previous item's file."""
    assert _scan("""
        - `a/pool.py:10 — Pool`

        - then :12 — the body

        After the list :14 is text.
        """) == [(1, "a/pool.py", 10, "Pool"), (3, "a/pool.py", 12, "the body")]


def test_heading_ends_the_block() -> None:
    """A heading between an anchor and a continuation separates them."""
    assert _scan("""
        See a/pool.py:10
        ## Next
        then :12
        """) == [(1, "a/pool.py", 10, None)]


def test_table_row_lends_its_symbol_like_cell_as_label() -> None:
    """Backticked or code-shaped cells label the row's anchor; plain words do not."""
    assert _scan("""
        | Symbol | What | Where |
        |---|---|---|
        | `KVCacheBlock` | one block | `kv_utils.py:116` |
        | BlockPool.free | release | kv_utils.py:200 |
        | allocation | prose | kv_utils.py:300 |
        | step | continues | :310 |
        """) == [
        (3, "kv_utils.py", 116, "KVCacheBlock"),
        (4, "kv_utils.py", 200, "BlockPool.free"),
        (5, "kv_utils.py", 300, None),
        (6, "kv_utils.py", 310, None),
    ]


def test_table_does_not_inherit_from_the_paragraph_above() -> None:
    """A table starts a new block even without a blank line before it."""
    assert _scan("""
        Intro a/pool.py:1
        | x | y |
        |---|---|
        | a | :5 |
        """) == [(1, "a/pool.py", 1, None)]


def test_plain_fences_are_skipped() -> None:
    """Anchors inside ordinary fenced code (``` or ~~~, any language) are not reported."""
    assert _scan("""
        ```python
        x = "a/pool.py:10"
        ```
        ~~~
        a/pool.py:11
        ~~~
        """) == []


def test_indented_code_is_skipped_but_indented_list_text_is_not() -> None:
    """Four-space code after a blank line is code; the same indent inside a list continues the item."""
    assert _scan("""
        Intro.

            x = "a/pool.py:10"

        - item
            more at a/pool.py:11
        """) == [(6, "a/pool.py", 11, None)]


def test_anchors_fence_is_scanned() -> None:
    """A fence whose info string contains the word `anchors` is read line by line."""
    assert _scan("""
        ```anchors
        a/pool.py:10 — Pool
        :12 — the body
        ```
        ```text anchors
        b/sched.py:3
        ```
        """) == [(2, "a/pool.py", 10, "Pool"), (3, "a/pool.py", 12, "the body"), (6, "b/sched.py", 3, None)]


def test_fence_closes_only_with_the_same_marker_at_least_as_long() -> None:
    """A shorter or different fence line inside a block does not close it."""
    assert _scan("""
        ````
        ```
        a/pool.py:10
        ~~~~
        ````
        after a/pool.py:11
        """) == [(6, "a/pool.py", 11, None)]


def test_line_numbers_count_newlines_only() -> None:
    """CRLF files and form feeds keep the line numbers editors show."""
    doc = "one\r\ntwo\x0cstill two a/p.py:3\r\nthree a/p.py:4\r\n"
    assert [(a.doc_line, a.line) for a in scan_markdown(doc, "d.md")] == [(2, 3), (3, 4)]
