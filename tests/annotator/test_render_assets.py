"""Tests for annotator.render.assets: the stylesheet styles what the renderers emit."""

from __future__ import annotations

import re

from pygments.token import STANDARD_TYPES

from annotator.render.assets import CSS
from annotator.render.nav import Linker
from annotator.render.model import Note
from annotator.render.source_page import code_table

ROW_CLASSES = ("ln", "lc", "an", "hl")


def test_row_classes_are_not_pygments_classes():
    """Table classes never collide with Pygments' short names, which the theme colours."""
    assert not set(ROW_CLASSES) & set(STANDARD_TYPES.values())


def test_every_class_the_code_table_uses_is_styled():
    """Each class on the code table's cells and rows has a rule in the stylesheet."""
    html = code_table(["a", "b"], [Note(1, 1, "T", "x.md", "", "text", "")], Linker("", {}))
    used = set(re.findall(r'class="([a-z-]+)"', html)) - {"annotate-status"}
    for cls in used:
        assert re.search(rf"\.{re.escape(cls)}\b", CSS), cls


def test_target_and_cited_lines_are_highlighted_without_script():
    """The cited line and the line in the URL are picked out by CSS alone (:target, classes)."""
    assert re.search(r"tr:target > td\.lc", CSS)
    assert re.search(r"tr\.hl > td\.lc", CSS)
    assert "scroll-margin-top" in CSS  # the targeted line is not hidden under the sticky header
