"""Tests for annotator.rebase.mapping over the miniature versioned fixture trees (v0.1.0 → v0.2.0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.rebase.mapping import PLACED_CONFIDENCE, Mapper
from annotator.rebase.tree import TreeView
from annotator.records import Finding

FIX = Path(__file__).parent / "fixtures" / "rebase"
OLD, NEW = FIX / "v0.1.0", FIX / "v0.2.0"
POOL, EVICT, SCHED = "vllm/core/pool.py", "vllm/core/evict.py", "vllm/core/sched.py"


def line_of(root: Path, path: str, needle: str) -> int:
    """1-based number of the first line of ``root/path`` containing ``needle`` (the test's oracle)."""
    for i, line in enumerate((root / path).read_text().split("\n"), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def finding(path: str, line: int, label: str | None, line_end: int | None = None) -> Finding:
    """An anchor as the scanner reads it, resolved ``ok`` against the old tree."""
    rng = f"{line}-{line_end}" if line_end else f"{line}"
    [anchor] = scan_text(f"`{path}:{rng}" + (f" — {label}`" if label else "`"), "doc.md")
    return Finding(anchor, anchor.path, line, line_end, None, "ok", "", None)


@pytest.fixture(scope="module")
def mapper(tmp_path_factory) -> Mapper:
    cache = tmp_path_factory.mktemp("cache")
    return Mapper(TreeView(open_index(OLD, cache), "0.1.0"), TreeView(open_index(NEW, cache), "0.2.0"))


def make_mapper(tmp_path: Path, old: dict[str, str], new: dict[str, str]) -> Mapper:
    for root, files in (("old", old), ("new", new)):
        for rel, text in files.items():
            (tmp_path / root / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / root / rel).write_text(text)
    cache = tmp_path / "cache"
    return Mapper(TreeView(open_index(tmp_path / "old", cache)), TreeView(open_index(tmp_path / "new", cache)))


# (label, old path, needle in old, new path, needle in new, status, body_changed)
CASES = [
    ("BlockPool", POOL, "class BlockPool:", POOL, "class BlockPool:", "moved", True),
    ("BlockPool.get_new_blocks()", POOL, "def get_new_blocks", POOL, "def get_new_blocks", "moved", False),
    ("BlockPool.get_new_blocks()", POOL, "taken = [", POOL, "taken = [", "moved", False),
    ("BlockPool.free_count", POOL, "@property", POOL, "@property", "moved", False),
    ("compute_hash()", EVICT, "def compute_hash", "vllm/core/hashing.py", "def compute_hash", "moved-file", False),
    ("evict_everything()", EVICT, "def evict_everything", EVICT, "def evict_all", "renamed", False),
    ("Scheduler.schedule()", SCHED, "scheduled.append", SCHED, "scheduled.append", "moved", True),
    ("Scheduler.schedule()", SCHED, "def schedule", SCHED, "def schedule", "unchanged", True),
    ("cdiv", "vllm/core/util.py", "return -(a", "vllm/core/util.py", "return -(a", "unchanged", False),
    ("the used map", POOL, "self.used_block_ids = {}", POOL, "self.used_block_ids = {}", "moved", False),
    ("the free order", "docs/guide.md", "freed in reverse", "docs/guide.md", "freed in reverse", "moved", False),
]


@pytest.mark.parametrize("label, path, needle, new_path, new_needle, status, changed", CASES)
def test_each_status_maps_to_the_line_with_the_same_text(
    mapper, label, path, needle, new_path, new_needle, status, changed
):
    """Unchanged, shifted, moved-file and renamed anchors land on the line carrying their text."""
    rec = mapper.map(finding(path, line_of(OLD, path, needle), label))
    assert rec.status == status
    assert rec.new is not None
    assert (rec.new.path, rec.new.line) == (new_path, line_of(NEW, new_path, new_needle))
    assert rec.body_changed is changed
    assert rec.confidence > PLACED_CONFIDENCE


def test_renamed_carries_new_label_and_similarity(mapper):
    """A renamed definition reports its new label (same dotted depth, ``()`` kept) and a confidence < 1 allowed."""
    rec = mapper.map(finding(EVICT, line_of(OLD, EVICT, "number_of_evicted_blocks += 1"), "evict_everything()"))
    assert rec.status == "renamed" and rec.new.label == "evict_all()"
    assert rec.new.line == line_of(NEW, EVICT, "number_of_evicted_blocks += 1")
    assert 0.6 <= rec.confidence <= 1.0 and "evict_all" in rec.message


def test_deleted_symbol_is_removed_with_candidates(mapper):
    """A definition gone from the new tree, its name used nowhere, is ``removed``, with no new location."""
    rec = mapper.map(finding(POOL, line_of(OLD, POOL, "def old_helper"), "BlockPool.old_helper()"))
    assert rec.status == "removed" and rec.new is None and rec.confidence == 0.0
    assert "BlockPool.old_helper" in rec.message
    assert all(" — " in c for c in rec.candidates)


def test_edited_cited_line_is_placed_and_flagged(mapper):
    """A cited line that was edited is placed by its neighbours, with lower confidence and a note."""
    old = line_of(OLD, SCHED, "num_prompt_tokens_to_compute")
    rec = mapper.map(finding(SCHED, old, "Scheduler.schedule()"))
    assert rec.new.line == line_of(NEW, SCHED, "num_new_tokens_this_step")
    assert rec.confidence == PLACED_CONFIDENCE and rec.body_changed
    assert "placed" in rec.message


def test_range_maps_both_ends(mapper):
    """A range keeps both of its ends on the lines carrying their text."""
    first, last = line_of(OLD, POOL, "if count >"), line_of(OLD, POOL, "return taken")
    rec = mapper.map(finding(POOL, first, "BlockPool.get_new_blocks()", last))
    assert (rec.new.line, rec.new.line_end) == (line_of(NEW, POOL, "if count >"), line_of(NEW, POOL, "return taken"))
    assert rec.status == "moved"


def test_prose_anchor_on_edited_line_falls_back_to_enclosing_symbol(mapper):
    """A prose anchor whose line changed follows the definition that encloses it."""
    rec = mapper.map(finding(POOL, line_of(OLD, POOL, "def __init__(self, num_blocks)"), "the constructor"))
    assert rec.new.line == line_of(NEW, POOL, "def __init__(self, num_blocks=")
    assert rec.body_changed


def test_broken_anchor_in_pinned_tree_is_missing(mapper):
    """An anchor that does not resolve in the pinned tree cannot be followed: ``missing``, reason given."""
    f = finding("vllm/core/nope.py", 3, None)
    broken = Finding(f.anchor, None, 3, None, None, "missing-file", "no such file", None)
    rec = mapper.map(broken)
    assert rec.status == "missing" and "missing-file" in rec.message


def test_interior_line_never_becomes_the_def_line(tmp_path):
    """When the lines after the def are deleted, an interior anchor moves to the next body line."""
    old = {"m.py": "def g():\n    x_value = compute_something_long()\n    return x_value\n"}
    new = {"m.py": "def g():\n    return x_value\n"}
    rec = make_mapper(tmp_path, old, new).map(finding("m.py", 2, "g()"))
    assert rec.new.line == 2 and rec.confidence == PLACED_CONFIDENCE


def test_interior_with_no_body_left_is_reported_not_silent(tmp_path):
    """If the whole body is gone, the def line is the only place left and the record says so."""
    old = {"m.py": "def g():\n    a = 1\n    return a\n"}
    new = {"m.py": "def g(): return 2\n"}
    rec = make_mapper(tmp_path, old, new).map(finding("m.py", 2, "g()"))
    assert rec.new.line == 1 and rec.confidence < 1.0 and rec.body_changed and "placed" in rec.message


def test_json_record_has_designs_keys(mapper):
    """to_json carries DESIGN.md's rebase record keys with old/new location objects."""
    rec = mapper.map(finding(POOL, line_of(OLD, POOL, "def get_new_blocks"), "BlockPool.get_new_blocks()"))
    data = rec.to_json()
    assert {"doc", "doc_line", "text", "old", "new", "status", "body_changed", "confidence"} <= set(data)
    assert set(data["old"]) == {"path", "line", "line_end", "label"} == set(data["new"])
