"""Tests for `annotate pin-page`: regenerates the page and reports staleness."""

from __future__ import annotations

from pathlib import Path

from annotator import cli

PIN = 'package = "vllm"\nversion = "0.22.1"\ncommit = "abc"\nsdist = "vllm-0.22.1.tar.gz"\n'


def test_check_reports_stale_then_write_makes_fresh(tmp_path: Path, monkeypatch):
    """--check exits 1 on a stale page; writing it makes --check pass."""
    (tmp_path / "pyproject.toml").write_text("[tool.annotate]\n")
    (tmp_path / "UPSTREAM_PIN.toml").write_text(PIN + f'sha256 = "{"c" * 64}"\n')
    (tmp_path / "UPSTREAM_PIN.md").write_text("old\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["pin-page", "--check"]) == 1
    assert cli.main(["pin-page"]) == 0
    assert cli.main(["pin-page", "--check"]) == 0
    assert "c" * 64 in (tmp_path / "UPSTREAM_PIN.md").read_text()
