"""Tests for annotator.render.highlight_cache: cached by content, parallel equals serial."""

from __future__ import annotations

from pathlib import Path

from annotator.render import highlight, highlight_cache
from annotator.render.highlight import highlight_lines


def _tree(tmp_path: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = f"pkg/m{i}.py"
        (tmp_path / "tree" / "pkg").mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / path).write_text(f'def f{i}():\n    """Doc {i}."""\n    return {i}\n')
        paths.append(path)
    return paths


def test_results_equal_direct_highlighting(tmp_path):
    """Every file's cached lines are exactly what highlight_lines gives for it."""
    paths = _tree(tmp_path, 3)
    got = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)
    for path in paths:
        text = (tmp_path / "tree" / path).read_text()
        assert got[path] == highlight_lines(text, path)


def test_second_run_reads_the_cache(tmp_path, monkeypatch):
    """Unchanged files are not highlighted again: a broken highlighter is never called."""
    paths = _tree(tmp_path, 2)
    first = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)

    def boom(*args, **kwargs):
        raise AssertionError("highlighted again")

    monkeypatch.setattr(highlight, "highlight_lines", boom)
    again = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)
    assert again == first


def test_changed_bytes_miss_the_cache(tmp_path):
    """Editing a file gives its new content, not the cached lines of the old one."""
    paths = _tree(tmp_path, 1)
    highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)
    (tmp_path / "tree" / paths[0]).write_text("changed = True\n")
    got = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)
    assert "changed" in got[paths[0]][0]


def test_process_pool_gives_the_same_lines(tmp_path):
    """Highlighting misses in a process pool equals highlighting them in-process."""
    paths = _tree(tmp_path, highlight_cache.POOL_THRESHOLD + 2)
    pooled = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "c1", jobs=2)
    serial = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "c2", jobs=1)
    assert pooled == serial and len(pooled) == len(paths)


def test_corrupt_entry_is_treated_as_missing(tmp_path):
    """A damaged cache file is recomputed instead of failing the build."""
    paths = _tree(tmp_path, 1)
    highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)
    for entry in (tmp_path / "cache").rglob("*.json"):
        entry.write_text("{not json")
    got = highlight_cache.highlight_files(tmp_path / "tree", paths, tmp_path / "cache", jobs=1)
    assert "f0" in got[paths[0]][0]
