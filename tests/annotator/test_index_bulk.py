"""Tests for bulk loading: process pool vs inline, the pack, progress reports."""

from __future__ import annotations

import hashlib
from pathlib import Path

from annotator.index import bulk as index_bulk
from annotator.index.cache import Cache


def make_tree(root: Path, n: int) -> list[str]:
    """n small modules with a class, a call and an import each; returns their relpaths."""
    paths = []
    for i in range(n):
        rel = f"p/m{i:02d}.py"
        (root / "p").mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"import os\nclass C{i}:\n    def m(self):\n        os.f({i})\n")
        paths.append(rel)
    return paths


def test_pool_and_inline_give_identical_entries(tmp_path: Path):
    """Parsing in worker processes yields exactly what parsing in-process yields."""
    root = tmp_path / "t"
    paths = make_tree(root, 12)
    pooled, parsed = index_bulk.load(root, paths, Cache(tmp_path / "c1", root), 2, None, 0)
    inline, _ = index_bulk.load(root, paths, Cache(tmp_path / "c2", root), 1, None, 10**6)
    assert parsed == set(paths)
    assert pooled == inline


def test_pack_alone_serves_a_warm_load(tmp_path: Path):
    """A bulk load writes one pack and no per-file entries; the pack answers the next load."""
    root = tmp_path / "t"
    paths = make_tree(root, 5)
    cache = Cache(tmp_path / "c", root)
    first, _ = index_bulk.load(root, paths, cache, 1, None, 100)
    assert cache.pack_path.is_file() and not (cache.base / "files").exists()
    again, parsed = index_bulk.load(root, paths, cache, 1, None, 100)
    assert parsed == set() and again == first


def test_pack_mirrors_the_current_tree(tmp_path: Path):
    """After a file changes, the rewritten pack holds the new digest and drops the old one."""
    root = tmp_path / "t"
    paths = make_tree(root, 3)
    cache = Cache(tmp_path / "c", root)
    old = index_bulk.hash_files(root, paths)["p/m00.py"]
    index_bulk.load(root, paths, cache, 1, None, 100)
    (root / "p/m00.py").write_text("x = 1\n")
    index_bulk.load(root, paths, cache, 1, None, 100)
    pack = cache.read_pack()
    assert old not in pack
    assert hashlib.sha256(b"x = 1\n").hexdigest() in pack and len(pack) == 3


def test_progress_reaches_the_total(tmp_path: Path):
    """The progress callback starts at 0 and ends at done == total for the files parsed."""
    root = tmp_path / "t"
    paths = make_tree(root, 10)
    seen: list[tuple[str, int, int | None]] = []
    index_bulk.load(root, paths, Cache(tmp_path / "c", root), 2, lambda *a: seen.append(a), 0)
    assert seen[0] == ("index", 0, 10) and seen[-1] == ("index", 10, 10)


def test_hash_files_is_sha256_of_bytes(tmp_path: Path):
    """Digests are the sha256 of each file's exact bytes."""
    (tmp_path / "a.py").write_bytes(b"\x00\x01")
    assert index_bulk.hash_files(tmp_path, ["a.py"]) == {"a.py": hashlib.sha256(b"\x00\x01").hexdigest()}


_KILLED_PARENT = r"""
import os, sys, time
from pathlib import Path
from annotator.index import bulk
from annotator.index.cache import Cache

out = Path(sys.argv[2])

def stuck(root, paths):
    (out / f"{os.getpid()}.pid").write_text("")
    time.sleep(120)
    return []

bulk.parse_chunk = stuck  # forked workers inherit the patched module
root = Path(sys.argv[1])
paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
bulk.load(root, paths, Cache(out / "cache", root), 2, None, 0)
"""


def test_workers_end_when_the_main_process_is_killed(tmp_path: Path):
    """kill -9 of the indexing process takes its pool workers down too (no orphan blocks forever)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "t"
    make_tree(root, 8)
    out = tmp_path / "out"
    out.mkdir()
    child = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT, str(root), str(out)])
    deadline = time.monotonic() + 30
    while len(list(out.glob("*.pid"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(p.stem) for p in out.glob("*.pid")]
    assert len(workers) == 2
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 10
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left


def test_two_cold_builds_write_byte_identical_packs(tmp_path: Path):
    """Cache content is a function of the tree: pooled and inline cold builds write the same bytes."""
    root = tmp_path / "t"
    make_tree(root, 12)
    (root / "p" / "odd.py").write_text("f()()\ng(h())(k)\nobj.a().b()()\n")
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    one, two = Cache(tmp_path / "c1", root), Cache(tmp_path / "c2", root)
    index_bulk.load(root, paths, one, 2, None, 0)
    index_bulk.load(root, paths, two, 1, None, 10**6)
    assert one.pack_path.read_bytes() == two.pack_path.read_bytes()


def test_flows_survive_a_file_nested_too_deeply(tmp_path: Path):
    """A pathological file gets an empty flow; the other files' flows are extracted as usual."""
    import marshal

    root = tmp_path / "t"
    make_tree(root, 2)
    (root / "p" / "deep.py").write_text("x = " + "[" * 900 + "1" + "]" * 900 + "\n")
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    digests = index_bulk.hash_files(root, paths)
    flows = index_bulk.load_flows(root, digests, Cache(tmp_path / "c", root), 1, None, 100)
    assert marshal.loads(flows["p/deep.py"]) == ((), ())
    scopes, sites = marshal.loads(flows["p/m00.py"])
    assert [s[0] for s in scopes] == ["", "C0", "C0.m"] and sites[0][6] == "os.f"
