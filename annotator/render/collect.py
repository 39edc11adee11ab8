"""Gather the site's facts once per build: every citation, resolved, with its citing sentence.

Markdown pages and minivllm's Python files go through the same scanner and resolver as
``annotate verify``, so the site can never disagree with CI about which anchors are broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from annotator.anchors import scan_text
from annotator.index import SymbolIndex, open_index
from annotator.records import FileIndex
from annotator.render.excerpts import excerpt
from annotator.render.model import Citation
from annotator.resolve import resolve


def page_citations(origin: str, markdown: str, index: SymbolIndex, doc: str) -> list[Citation]:
    """The citations of one markdown page, in reading order.

    Args:
        origin: the page's docs-relative path (the key back-links use).
        markdown: the page's markdown, front matter removed (what mkdocs renders).
        index: the upstream tree's index.
        doc: the document's name in warnings (project-relative path).
    """
    anchors = scan_text(markdown, doc)
    lines = markdown.split("\n")
    return [
        Citation(origin, n, finding, excerpt(lines, finding.anchor))
        for n, finding in enumerate(resolve(anchors, index))
    ]


def python_citations(origin: str, text: str, index: SymbolIndex) -> list[Citation]:
    """The ``# upstream:`` citations of one Python file (no excerpt: the pair page explains them)."""
    anchors = scan_text(text, origin, python=True)
    return [Citation(origin, n, f, "") for n, f in enumerate(resolve(anchors, index))]


def by_target(citations: Iterable[Citation]) -> dict[str, list[Citation]]:
    """Linkable citations grouped by the upstream file they point into, each list in line order."""
    grouped: dict[str, list[Citation]] = {}
    for c in citations:
        if c.linkable:
            grouped.setdefault(c.finding.path or "", []).append(c)
    for group in grouped.values():
        group.sort(key=lambda c: (c.lines, c.origin, c.ordinal))
    return grouped


class ProjectFiles:
    """Indexes of project Python files (minivllm), one lazy index per top-level directory.

    Indexing the project root itself would list the upstream tree and the built site too, so
    each top-level directory that holds a cited Python file gets its own small index.
    """

    def __init__(self, root: Path, cache_dir: Path) -> None:
        self.root = root
        self._cache_dir = cache_dir
        self._indexes: dict[str, SymbolIndex] = {}

    def file(self, relpath: str) -> FileIndex | None:
        """The index of project file ``relpath`` (``minivllm/core/block_pool.py``)."""
        top, _, rest = relpath.partition("/")
        if not rest:
            return None
        if top not in self._indexes:
            self._indexes[top] = open_index(self.root / top, self._cache_dir)
        return self._indexes[top].file(rest)
