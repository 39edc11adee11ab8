"""Python sources: anchors in comments and docstrings are found at their exact place; code is never read."""

from __future__ import annotations

import textwrap

from annotator.anchors.python import scan_python

SOURCE = textwrap.dedent('''\
    """Engine pieces.

    Mirrors vllm/v1/core/block_pool.py:333 — BlockPool.get_new_blocks() and
    :340 — BlockPool.free_blocks.
    """
    import os

    LIMIT = "vllm/v1/core/fake.py:1"  # upstream: vllm/v1/core/kv_cache_utils.py:116 — KVCacheBlock
    window = items[1:2]


    # upstream: vllm/v1/core/sched/scheduler.py:390-392
    # :443 — the preemption loop
    def schedule():
        """Plan one step (see `scheduler.py:329 — Scheduler.schedule()`)."""
        text = """vllm/not/a/docstring.py:5"""
        return text

    # :12 — not a continuation: a new comment group
''')


def _rows(text: str) -> list[tuple]:
    return [(a.doc_line, a.doc_col, a.path, a.line, a.line_end, a.label) for a in scan_python(text, "m.py")]


def test_comments_and_docstrings_are_scanned_and_code_is_not() -> None:
    """Only docstrings and comments yield anchors; strings in code and slices do not."""
    assert _rows(SOURCE) == [
        (3, 9, "vllm/v1/core/block_pool.py", 333, None, "BlockPool.get_new_blocks()"),
        (4, 1, "vllm/v1/core/block_pool.py", 340, None, "BlockPool.free_blocks"),
        (8, 47, "vllm/v1/core/kv_cache_utils.py", 116, None, "KVCacheBlock"),
        (12, 13, "vllm/v1/core/sched/scheduler.py", 390, 392, None),
        (13, 3, "vllm/v1/core/sched/scheduler.py", 443, None, "the preemption loop"),
        (15, 28, "scheduler.py", 329, None, "Scheduler.schedule()"),
    ]


def test_spans_index_the_source_lines() -> None:
    """path_span/line_span slice the file's own line to exactly the path and the line number."""
    lines = SOURCE.split("\n")
    for a in scan_python(SOURCE, "m.py"):
        line = lines[a.doc_line - 1]
        assert line[a.doc_col - 1 :].startswith(a.text)
        if a.path_span:
            assert line[a.path_span[0] : a.path_span[1]] == a.path
        assert line[a.line_span[0] : a.line_span[1]].startswith(str(a.line))


def test_tokenizer_failure_keeps_earlier_anchors_and_later_comment_lines() -> None:
    """An unterminated string stops the tokenizer; anchors before it and `#` lines after it survive."""
    broken = '# a/b.py:1\nx = (\n# c/d.py:2\ny = """never closed\n'
    assert [(a.doc_line, a.path) for a in scan_python(broken, "m.py")] == [(1, "a/b.py"), (3, "c/d.py")]


def test_a_file_without_any_path_is_not_tokenized() -> None:
    """A source with no anchor-shaped path returns nothing (and takes the fast path)."""
    assert scan_python("x = 1  # just a comment :12\n", "m.py") == []


def test_crlf_sources_keep_columns() -> None:
    """Windows line endings do not shift the recorded columns or lines."""
    src = "x = 1\r\n# upstream: a/b.py:7 — Foo\r\n"
    ((line, col, path, n, _, label),) = _rows(src)
    assert (line, col, path, n, label) == (2, 13, "a/b.py", 7, "Foo")


def test_docstring_quotes_never_join_the_label():
    """A one-line docstring's closing quotes end the label, which stays a symbol label."""
    from annotator.anchors import scan_text

    src = 'def f():\n    """upstream: vllm/v1/core/block_pool.py:333 — BlockPool.get_new_blocks()"""\n'
    (anchor,) = scan_text(src, "m.py", python=True)
    assert anchor.label == "BlockPool.get_new_blocks()" and anchor.label_kind == "symbol"
