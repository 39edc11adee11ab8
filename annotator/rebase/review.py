"""What a course maintainer reads after a rebase: the old and new code under each changed anchor."""

from __future__ import annotations

from difflib import unified_diff

from annotator.rebase.rebased import Rebased, Span
from annotator.rebase.tree import TreeView


def review_diff(rec: Rebased, old: TreeView, new: TreeView) -> list[str]:
    """A unified diff of the cited code, old tree → new tree; empty when there is nothing to read."""
    if not rec.body_changed or rec.old_span is None or rec.new_span is None:
        return []
    a, b = rec.old_span, rec.new_span
    return list(
        unified_diff(
            old.span(a.path, a.first, a.last),
            new.span(b.path, b.first, b.last),
            fromfile=_header(a, old.version),
            tofile=_header(b, new.version),
            lineterm="",
            n=2,
        )
    )


def _header(span: Span, version: str) -> str:
    where = f"{span.path}:{span.first}-{span.last}"
    return f"{where} ({version})" if version else where
