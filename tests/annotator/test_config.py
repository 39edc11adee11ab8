"""Tests for annotator.config: one place reads [tool.annotate], with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator import config
from annotator.errors import ConfigError


def write_project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text("[tool.annotate]\n" + table)
    return root


def test_defaults_and_paths_are_absolute(tmp_path: Path):
    """An empty table gives the documented defaults, rooted at the project."""
    cfg = config.load(write_project(tmp_path, ""))
    assert cfg.upstream_dir == tmp_path / "upstream"
    assert cfg.map_subsystems[0] == "vllm/engine"
    assert cfg.site.site_dir == "site"


def test_found_from_a_subdirectory(tmp_path: Path):
    """The project root is found from anywhere below it."""
    write_project(tmp_path, 'upstream_dir = "tree"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert config.load(sub).upstream_dir == tmp_path / "tree"


def test_wrong_types_are_config_errors(tmp_path: Path):
    """A value of the wrong type names the key instead of failing later."""
    write_project(tmp_path, "docs = 3\n")
    with pytest.raises(ConfigError, match="docs must be a list"):
        config.load(tmp_path)


def test_doc_paths_expand_globs_and_skip_the_tree(tmp_path: Path):
    """Configured globs expand to sorted files; nothing inside upstream/ is a document."""
    write_project(tmp_path, 'docs = ["**/*.md"]\n')
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "b.md").write_text("x")
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "upstream").mkdir()
    (tmp_path / "upstream" / "README.md").write_text("x")
    names = [p.relative_to(tmp_path).as_posix() for p in config.load(tmp_path).doc_paths()]
    assert names == ["a.md", "notes/b.md"]


def test_cache_dir_override(monkeypatch, tmp_path: Path):
    """ANNOTATE_CACHE_DIR overrides the platform cache directory."""
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "c"))
    assert config.default_cache_dir() == tmp_path / "c"
