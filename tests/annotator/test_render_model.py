"""Tests for annotator.render.model: what a citation says about linking and breakage."""

from __future__ import annotations

import pytest

from annotator.anchors import scan_text
from annotator.records import STATUSES, Finding
from annotator.render.model import LINKABLE, Citation


def _citation(status: str, path: str | None = "pkg/a.py", text: str = "`pkg/a.py:3 — f()`") -> Citation:
    (a,) = scan_text(text, "d.md")
    return Citation("d.md", 4, Finding(a, path, a.line, a.line_end, None, status, "m", None), "")


@pytest.mark.parametrize("status", STATUSES)
def test_only_ok_is_unbroken_and_existing_lines_link(status):
    """Every status but ok is broken; a link is made only when the cited line exists."""
    c = _citation(status)
    assert c.broken == (status != "ok")
    assert c.linkable == (status in {"ok", "wrong-line", "wrong-file", "unknown-symbol"})


def test_linkable_statuses_are_real_statuses():
    """The linkable set names statuses the resolver actually produces."""
    assert LINKABLE <= set(STATUSES)


def test_no_path_means_no_link():
    """Without a resolved path there is nothing to link to, whatever the status."""
    assert not _citation("ok", path=None).linkable


def test_ranges_and_ids():
    """A range gives its first and last line; the element id follows the ordinal."""
    c = _citation("ok", text="`pkg/a.py:3-7`")
    assert c.lines == (3, 7) and c.element_id == "cite-4"
    assert _citation("ok").lines == (3, 3)
