"""The one-line anchor grammar: every written form, every look-alike, and exact spans."""

from __future__ import annotations

import pytest

from annotator.anchors.grammar import Cite, scan_line

BP = "vllm/v1/core/block_pool.py"

# (line, [(text, path, line, line_end, label), ...])
FORMS = [
    (f"`{BP}:333 — BlockPool.get_new_blocks()`", [(f"{BP}:333 — BlockPool.get_new_blocks()", BP, 333, None, "BlockPool.get_new_blocks()")]),
    (f"{BP}:333 – BlockPool.get_new_blocks", [(f"{BP}:333 – BlockPool.get_new_blocks", BP, 333, None, "BlockPool.get_new_blocks")]),
    (f"{BP}:333 -- BlockPool", [(f"{BP}:333 -- BlockPool", BP, 333, None, "BlockPool")]),
    (f"{BP}:333-BlockPool.free", [(f"{BP}:333-BlockPool.free", BP, 333, None, "BlockPool.free")]),
    (f"{BP}:333—BlockPool()", [(f"{BP}:333—BlockPool()", BP, 333, None, "BlockPool()")]),
    (f"`{BP}:333` — `BlockPool.get_new_blocks()` more", [(f"`{BP}:333` — `BlockPool.get_new_blocks()`", BP, 333, None, "BlockPool.get_new_blocks()")]),
    (f"see upstream/{BP}:333 here", [(f"upstream/{BP}:333", BP, 333, None, None)]),
    (f"see ../../upstream/{BP}:9", [(f"../../upstream/{BP}:9", BP, 9, None, None)]),
    ("kv_cache_utils.py:116 — KVCacheBlock", [("kv_cache_utils.py:116 — KVCacheBlock", "kv_cache_utils.py", 116, None, "KVCacheBlock")]),
    ("scheduler.py:390–392", [("scheduler.py:390–392", "scheduler.py", 390, 392, None)]),
    ("scheduler.py:390-392 — the loop", [("scheduler.py:390-392 — the loop", "scheduler.py", 390, 392, "the loop")]),
    ("scheduler.py:L390-L392", [("scheduler.py:L390-L392", "scheduler.py", 390, 392, None)]),
    ("scheduler.py L390-L392 is it", [("scheduler.py L390-L392", "scheduler.py", 390, 392, None)]),
    ("and :443 — preemption loop", [(":443 — preemption loop", None, 443, None, "preemption loop")]),
    ("(:443)", [(":443", None, 443, None, None)]),
    (f"[`BlockPool`](../upstream/{BP}#L333)", [(f"[`BlockPool`](../upstream/{BP}#L333)", BP, 333, None, "BlockPool")]),
    (f"[the pool](upstream/{BP}#L333-L352 \"title\")", [(f"[the pool](upstream/{BP}#L333-L352 \"title\")", BP, 333, 352, "the pool")]),
    (f"[here](upstream/{BP}#L3)", [(f"[here](upstream/{BP}#L3)", BP, 3, None, None)]),
    (f"{BP}:1 — Foo.bar() — what it does", [(f"{BP}:1 — Foo.bar()", BP, 1, None, "Foo.bar()")]),
    (f"({BP}:1 — the loop) then", [(f"{BP}:1 — the loop", BP, 1, None, "the loop")]),
    (f"{BP}:1 — the loop, then more", [(f"{BP}:1 — the loop", BP, 1, None, "the loop")]),
    (f"{BP}:1 - KVCacheManager allocates here", [(f"{BP}:1 - KVCacheManager", BP, 1, None, "KVCacheManager")]),
    (f"{BP}:1 — Allocates blocks.", [(f"{BP}:1 — Allocates blocks", BP, 1, None, "Allocates blocks")]),
    (f"**{BP}:1 — Foo**", [(f"{BP}:1 — Foo", BP, 1, None, "Foo")]),
    ("csrc/attention.cu:12 and csrc/ops.h:3", [("csrc/attention.cu:12", "csrc/attention.cu", 12, None, None), ("csrc/ops.h:3", "csrc/ops.h", 3, None, None)]),
    ("CMakeLists.txt:7, pyproject.toml:2, docker/Dockerfile:4", [("CMakeLists.txt:7", "CMakeLists.txt", 7, None, None), ("pyproject.toml:2", "pyproject.toml", 2, None, None), ("docker/Dockerfile:4", "docker/Dockerfile", 4, None, None)]),
    ("trace a.py:3:5 says", [("a.py:3", "a.py", 3, None, None)]),
    ("../../etc/passwd.py:1 /etc/hosts.py:2", [("../../etc/passwd.py:1", "../../etc/passwd.py", 1, None, None), ("/etc/hosts.py:2", "/etc/hosts.py", 2, None, None)]),
]  # fmt: skip

LOOK_ALIKES = [
    "serve on http://host:8000 or http://localhost:8000/v1",
    "https://github.com/x/y/blob/main/vllm/a.py:12 is a URL",
    "the file a.py: and a.py: 3 and a.py:",
    "at 12:30 or 9:00–17:30",
    "x[1:2] and y[::2] and z[a:3] and w[:3]",
    "setup.py:1.2 and vllm 0.22.1 and v0.22.1:3",
    "module.pyc:3 and README:3 and notes.docx:4",
    "[ours](../minivllm/core/block_pool.py#L3) and [gh](https://github.com/a/b/blob/v1/x.py#L9)",
    "openapi.yaml#L7153) is a URL fragment",
    "`a.py:3x` and a.py:3abc",
    "a/b.py:12.5",
    "scheduler.py:3-4-5",
]


def _rows(line: str) -> list[tuple]:
    return [(line[c.start : c.end], c.path, c.line, c.line_end, c.label) for c in scan_line(line)]


@pytest.mark.parametrize(("line", "expected"), FORMS)
def test_each_written_form_is_found(line: str, expected: list[tuple]) -> None:
    """Each DESIGN.md form yields exactly the expected text, path, lines and label."""
    assert _rows(line) == expected


@pytest.mark.parametrize("line", LOOK_ALIKES)
def test_look_alikes_are_not_anchors(line: str) -> None:
    """URLs with ports, paths without numbers, times, slices, versions and fragments are not cited."""
    assert scan_line(line) == []


@pytest.mark.parametrize(("line", "_expected"), FORMS)
def test_spans_cover_exactly_the_path_and_the_line_digits(line: str, _expected: list[tuple]) -> None:
    """path_span holds exactly the tree-relative path; line_span starts and ends on digits of the lines."""
    for c in scan_line(line):
        if c.path_span is not None:
            assert line[c.path_span[0] : c.path_span[1]] == c.path
        inside = line[c.line_span[0] : c.line_span[1]]
        assert inside.startswith(str(c.line))
        assert inside.endswith(str(c.line_end if c.line_end else c.line))


def test_upstream_prefix_stays_outside_the_path_span() -> None:
    """Rewriting path_span of `upstream/x.py:3` keeps the `upstream/` prefix in the document."""
    line = "upstream/vllm/x.py:3"
    (c,) = scan_line(line)
    assert line[: c.path_span[0]] == "upstream/"


def test_link_spans_point_into_the_target() -> None:
    """A link's path and line spans are inside its target, not its text."""
    line = "[vllm/a.py](../upstream/vllm/a.py#L10-L12)"
    (c,) = scan_line(line)
    assert c.path_span[0] > line.index("](")
    assert line[c.line_span[0] : c.line_span[1]] == "10-L12"


def test_continuation_inside_a_label_is_not_a_second_anchor() -> None:
    """A `:443` inside the first anchor's label is part of that label."""
    assert [c.path for c in scan_line("`a.py:3 — see :443 below`")] == ["a.py"]


def test_results_are_in_line_order() -> None:
    """Links, paths and continuations come back sorted by column."""
    line = "b.py:2 then [x](upstream/a.py#L1) and :5"
    assert [c.start for c in scan_line(line)] == sorted(c.start for c in scan_line(line))
    assert [c.path for c in scan_line(line)] == ["b.py", "a.py", None]


def test_cite_is_a_frozen_record() -> None:
    """Cite values cannot be changed after the scanner made them."""
    (c,) = scan_line("a.py:3")
    assert isinstance(c, Cite)
    with pytest.raises(AttributeError):
        c.line = 4  # type: ignore[misc]


def test_dotfile_at_tree_root_is_an_anchor():
    """A root-level dotfile such as .pre-commit-config.yaml:190 is recognised."""
    from annotator.anchors import scan_text

    (anchor,) = scan_text("See `.pre-commit-config.yaml:190 — the hook list`.", "d.md")
    assert (anchor.path, anchor.line) == (".pre-commit-config.yaml", 190)


def test_link_text_holds_no_open_bracket() -> None:
    """In ``[see [`F`](…)`` the link is the inner one: its text is ``F``, not ``see [`F``."""
    (c,) = scan_line("[see [`F`](../upstream/x/b.py#L3) and more")
    assert (c.start, c.label, c.path) == (5, "F", "x/b.py")
