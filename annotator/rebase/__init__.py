"""Rebase: re-anchor citations from the pinned upstream tree to a newer one.

``[Anchor] → resolve(old index) → [Finding] → map(old, new) → [Rebased] → plan → edits → commit``.
The mapping never writes; :func:`plan` computes new document bytes; :func:`commit` is the one
step that writes, all or nothing. The public surface is what this module re-exports.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from annotator.rebase.commit import commit, pin_for
from annotator.rebase.mapping import Mapper
from annotator.rebase.rebased import REBASE_STATUSES, Edit, Location, Rebased, RebaseStatus, Span
from annotator.rebase.review import review_diff
from annotator.rebase.rewrite import plan_document, rewrite_document
from annotator.rebase.tree import TreeView
from annotator.records import Finding

__all__ = [
    "REBASE_STATUSES",
    "Edit",
    "Location",
    "Mapper",
    "RebaseStatus",
    "Rebased",
    "Span",
    "TreeView",
    "commit",
    "map_findings",
    "pin_for",
    "plan",
    "review_diff",
]


def map_findings(findings: Iterable[Finding], old: TreeView, new: TreeView) -> list[Rebased]:
    """One :class:`Rebased` per finding, in the same order."""
    mapper = Mapper(old, new)
    return [mapper.map(f) for f in findings]


def plan(
    records: Iterable[Rebased],
    documents: Mapping[str, tuple[Path, bytes]],
    new_paths: Collection[str],
    *,
    through_cst: bool = True,
) -> tuple[list[Rebased], dict[Path, bytes]]:
    """Final records and the new bytes of every document that changes (nothing is written).

    ``documents`` maps each anchor's ``doc`` name to its file and the bytes that were scanned:
    the edits apply to exactly those bytes, whatever happens to the file meanwhile.
    ``through_cst=False`` skips libcst for Python documents (a dry run: same bytes, faster).
    """
    by_doc: dict[str, list[Rebased]] = {}
    for rec in records:
        by_doc.setdefault(rec.anchor.doc, []).append(rec)
    final: list[Rebased] = []
    changes: dict[Path, bytes] = {}
    for doc, recs in by_doc.items():
        path, data = documents[doc]
        edits, recs = plan_document(data.decode("utf-8", "replace"), recs, new_paths)
        final.extend(recs)
        new = rewrite_document(path, doc, data, edits, through_cst=through_cst)
        if new is not None:
            changes[path] = new
    return final, changes
