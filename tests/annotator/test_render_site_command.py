"""Tests for annotator.commands.site: the site step of `annotate build` (staged, strict, exit codes)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from annotator import config as config_mod
from annotator.commands import site
from annotator.errors import ConfigError, TreeMissingError

FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
MKDOCS_YML = Path(__file__).resolve().parents[2] / "mkdocs.yml"
BROKEN = {"annotations/phase-03-x/index.md": "# X\n\nSee `pkg/gone.py:1 — f()`.\n"}


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A private copy of the fixture project with an old site/ holding a marker file."""
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    shutil.copy(MKDOCS_YML, root / "mkdocs.yml")  # the repository's own site configuration
    (root / "site").mkdir()
    (root / "site" / "marker.txt").write_text("previous build")
    return root


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_clean_project_builds_and_replaces_the_site(project, capsys):
    """Exit 0; site/ is the new build, the old one is gone, and no staging directory is left."""
    assert site.run(config_mod.load(project), strict=True) == 0
    assert (project / "site" / "index.html").is_file()
    assert not (project / "site" / "marker.txt").exists()
    assert [p.name for p in project.iterdir() if "staging" in p.name] == []
    assert "0 broken anchors" in capsys.readouterr().out


def test_strict_with_a_broken_anchor_exits_1_and_keeps_the_old_site(project, capsys):
    """Strict: exit 1, the previous site/ is untouched, the broken anchor is named on stderr."""
    _write(project, BROKEN)
    assert site.run(config_mod.load(project), strict=True) == 1
    assert (project / "site" / "marker.txt").read_text() == "previous build"
    err = capsys.readouterr().err
    assert "annotations/phase-03-x/index.md:3:6: missing-file" in err and "not published" in err


def test_lenient_build_publishes_and_shows_the_broken_anchor(project):
    """Not strict: exit 0, and the page shows the broken anchor with its status."""
    _write(project, BROKEN)
    assert site.run(config_mod.load(project), strict=False) == 0
    html = (project / "site" / "phase-03-x" / "index.html").read_text("utf-8")
    assert '<span class="annotate-status">missing-file</span>' in html


def test_report_counts_pages_and_bytes(project, tmp_path):
    """build_into reports the pages written, their size and the broken anchors."""
    report = site.build_into(config_mod.load(project), tmp_path / "out")
    html = list((tmp_path / "out").rglob("*.html"))
    assert report.pages == len([p for p in html if p.name != "404.html"]) and report.pages > 10
    assert report.bytes == sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert report.broken == 0


def test_missing_mkdocs_yml_or_tree_is_an_error(project, tmp_path):
    """Without mkdocs.yml or without the tree, the step raises an error the CLI turns into exit 2."""
    settings = config_mod.load(project)
    with pytest.raises(TreeMissingError, match="annotate fetch"):
        site.build_into(dataclasses.replace(settings, upstream_dir=tmp_path / "none"), tmp_path / "out")
    (project / "mkdocs.yml").unlink()
    with pytest.raises(ConfigError, match="mkdocs.yml"):
        site.build_into(settings, tmp_path / "out")
