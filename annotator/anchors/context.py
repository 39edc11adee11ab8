"""Document context for citations: what a continuation refers to, and the nearest full path.

A line alone cannot say which file ``:443 — preemption loop`` means, nor which of several
``kv_cache_utils.py`` a basename means; the scanners feed every line's citations through one
:class:`DocumentContext` per document, telling it where paragraphs, lists and tables end.
"""

from __future__ import annotations

import posixpath

from annotator.anchors.grammar import Cite
from annotator.anchors.text import label_kind
from annotator.records import Anchor


class DocumentContext:
    """Turns one document's :class:`Cite` values into :class:`Anchor` records, in order.

    Args:
        doc: the document's name as it should appear in findings.
    """

    def __init__(self, doc: str) -> None:
        self.doc = doc
        self.anchors: list[Anchor] = []
        self._block_path: str | None = None  # file of the previous citation in this block
        self._block_near: str | None = None
        self._near_dir: str | None = None  # directory of the last full path in the document

    def end_block(self) -> None:
        """A paragraph, list, table, docstring or comment group ended: continuations stop here."""
        self._block_path = None
        self._block_near = None

    def add(self, doc_line: int, line: str, cite: Cite, cell_label: str | None = None) -> None:
        """Record ``cite`` found on ``line`` (1-based ``doc_line``); drop a continuation with no file."""
        if cite.path is None:
            if self._block_path is None:
                return
            path, near = self._block_path, self._block_near
        else:
            path = cite.path
            near = None if "/" in path else self._near_dir
            if "/" in path:
                folder = path.rsplit("/", 1)[0]
                self._near_dir = posixpath.normpath(folder) if "." in folder else folder
        self._block_path, self._block_near = path, near
        label = cite.label if cite.label is not None else cell_label
        self.anchors.append(
            Anchor(
                doc=self.doc,
                doc_line=doc_line,
                doc_col=cite.start + 1,
                text=line[cite.start : cite.end],
                path=path,
                line=cite.line,
                line_end=cite.line_end,
                label=label,
                label_kind=label_kind(label),  # type: ignore[arg-type]
                path_span=cite.path_span,
                line_span=cite.line_span,
                near_dir=near,
            )
        )
