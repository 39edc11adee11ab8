"""Tests for annotator.rebase (the package's public surface): map_findings and plan."""

from __future__ import annotations

from pathlib import Path

import annotator.rebase as rebase
from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.records import Finding

FIX = Path(__file__).parent / "fixtures" / "rebase"


def test_public_surface_is_exactly_what_is_intended():
    """The package re-exports the pipeline's records and steps, and nothing else."""
    assert sorted(rebase.__all__) == sorted([
        "REBASE_STATUSES", "Edit", "Location", "Mapper", "RebaseStatus", "Rebased", "Span",
        "TreeView", "commit", "map_findings", "pin_for", "plan", "review_diff",
    ])
    assert all(hasattr(rebase, name) for name in rebase.__all__)


def findings(text: str, doc: str) -> list[Finding]:
    return [Finding(a, a.path, a.line, a.line_end, None, "ok", "", None) for a in scan_text(text, doc)]


def test_map_then_plan_rewrites_only_changed_documents(tmp_path):
    """Records come back one per anchor; only the document whose anchors moved gets new bytes."""
    cache = tmp_path / "cache"
    old = rebase.TreeView(open_index(FIX / "v0.1.0", cache), "0.1.0")
    new = rebase.TreeView(open_index(FIX / "v0.2.0", cache), "0.2.0")
    moving = b"`vllm/core/pool.py:11 \xe2\x80\x94 BlockPool.get_new_blocks()`\n"
    still = b"`vllm/core/util.py:4 \xe2\x80\x94 cdiv()`\n"
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_bytes(b"edited on disk meanwhile\n")  # plan works on the scanned bytes, not the disk
    b.write_bytes(still)
    found = findings(moving.decode(), "a.md") + findings(still.decode(), "b.md")
    records = rebase.map_findings(found, old, new)
    assert [r.status for r in records] == ["moved", "unchanged"]
    final, changes = rebase.plan(records, {"a.md": (a, moving), "b.md": (b, still)}, new.index.paths)
    assert len(final) == 2
    assert changes == {a: moving.replace(b":11 ", b":16 ")}
