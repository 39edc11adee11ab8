"""Tests for annotator.render.since_pin: the saved review report becomes the "Since the pin" page."""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config

from annotator.render.since_pin import REPORT, report_file

FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
MKDOCS_YML = Path(__file__).resolve().parents[2] / "mkdocs.yml"
REVIEW = """# Since the pin: 0.1.0 → 0.2.0

## annotations/notes.md

### line 3: `pkg/core/block_pool.py line 8 — BlockPool` — renamed

- now: `pkg/core/pool.py line 9 — Pool` (0.2.0)
"""


def test_report_file_only_when_saved(tmp_path):
    """No saved report, no page; a saved one at the root is found."""
    assert report_file(tmp_path) is None
    (tmp_path / REPORT).write_text(REVIEW)
    assert report_file(tmp_path) == tmp_path / REPORT


def test_saved_report_is_a_page_of_a_strict_build(tmp_path, monkeypatch):
    """The report is rendered as since-the-pin.html, listed in the navigation; the strict build passes."""
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "proj"
    shutil.copytree(FIXTURE, root)
    shutil.copy(MKDOCS_YML, root / "mkdocs.yml")
    (root / REPORT).write_text(REVIEW)
    cfg = load_config(config_file=str(root / "mkdocs.yml"), strict=True)
    cfg.plugins.on_startup(command="build", dirty=False)
    try:
        build(cfg)
    finally:
        cfg.plugins.on_shutdown()
    html = (root / "site" / "since-the-pin.html").read_text("utf-8")
    assert "Since the pin: 0.1.0 → 0.2.0" in html and "pkg/core/pool.py line 9" in html
    assert 'href="since-the-pin.html"' in (root / "site" / "index.html").read_text("utf-8")
