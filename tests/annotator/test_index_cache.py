"""Tests for the index cache: entries, packs, decoding, invalidation, the GC pause."""

from __future__ import annotations

import gc
from pathlib import Path

from annotator.index import cache as index_cache, parse as index_parse
from annotator.index.cache import Cache, decode
from annotator.records import CallSite, Symbol

SOURCE = b"import os\nclass A:\n    def __init__(self):\n        self.q = Q()\n    def m(self):\n        os.f()\n"


def test_entry_round_trip(tmp_path: Path):
    """An entry written for a digest reads back equal; an unknown digest reads as None."""
    cache = Cache(tmp_path, tmp_path / "tree")
    entry = index_parse.extract(SOURCE)
    cache.write_entry("ab" * 32, entry)
    assert cache.read_entry("ab" * 32) == entry
    assert cache.read_entry("cd" * 32) is None


def test_corrupt_entry_and_pack_count_as_missing(tmp_path: Path):
    """Garbage in an entry or pack file is treated as a miss, never an error."""
    cache = Cache(tmp_path, tmp_path / "tree")
    path = cache.entry_path("ef" * 32)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not marshal")
    cache.pack_path.parent.mkdir(parents=True)
    cache.pack_path.write_bytes(b"\xffjunk")
    assert cache.read_entry("ef" * 32) is None
    assert cache.read_pack() == {}


def test_pack_is_per_tree(tmp_path: Path):
    """Two trees get two packs; each reads back what was written for it."""
    a, b = Cache(tmp_path, tmp_path / "a"), Cache(tmp_path, tmp_path / "b")
    assert a.pack_path != b.pack_path
    a.write_pack({"d1": (1,)})
    assert a.read_pack() == {"d1": (1,)} and b.read_pack() == {}


def test_decode_builds_equal_records():
    """Decoded records equal records built the ordinary way (the fast CallSite path included)."""
    fi = decode(index_parse.extract(SOURCE), "pkg/m.py", "pkg.m", "0" * 64)
    assert fi.calls == (CallSite("A.__init__", "Q", 4), CallSite("A.m", "os.f", 6))
    assert hash(fi.calls[0]) == hash(CallSite("A.__init__", "Q", 4))
    assert fi.symbols[0] == Symbol("A", "class", 2, 2, 6, 0, "")
    assert (fi.path, fi.module, fi.n_lines) == ("pkg/m.py", "pkg.m", 6)


def test_cache_tag_follows_the_extractor_source(tmp_path: Path, monkeypatch):
    """Changing the extractor's source changes the cache directory, so stale entries are never read."""
    before = index_cache.cache_tag()
    fake = tmp_path / "index_parse.py"
    fake.write_text("# a different extractor\n")
    monkeypatch.setattr(index_parse, "__file__", str(fake))
    index_cache.cache_tag.cache_clear()
    try:
        after = index_cache.cache_tag()
    finally:
        monkeypatch.undo()
        index_cache.cache_tag.cache_clear()
    assert before != after
    assert before.startswith(f"v{index_cache.SCHEMA}-py") and index_cache.cache_tag() == before


def test_gc_paused_restores_the_collector():
    """The GC is off inside the block and back to its previous state after, even on error."""
    assert gc.isenabled()
    try:
        with index_cache.gc_paused():
            assert not gc.isenabled()
            raise KeyError
    except KeyError:
        pass
    assert gc.isenabled()
