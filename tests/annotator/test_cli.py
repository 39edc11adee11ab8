"""Tests for the CLI shell: help, exit codes, one-line errors (in-process via cli.main)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator import cli

PYPROJECT = """
[tool.annotate]
upstream_dir = "upstream"
pin_file = "UPSTREAM_PIN.toml"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A minimal project whose pin names a release that the index does not have."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "UPSTREAM_PIN.toml").write_text(
        'package = "vllm"\nversion = "9.9.9"\ncommit = "abc"\n'
        f'sdist = "vllm-9.9.9.tar.gz"\nsha256 = "{"b" * 64}"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_help_lists_every_command(capsys):
    """--help names each command of the DESIGN.md contract."""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("fetch", "index", "graph", "map", "verify", "rebase", "build", "lab"):
        assert name in out


def test_fetch_error_is_one_line_exit_2(project: Path, capsys):
    """An unreachable index gives exit 2 and a single 'error:' line, and creates no upstream/."""
    code = cli.main(["fetch", "--index-url", "http://127.0.0.1:9/simple"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err
    assert not (project / "upstream").exists()


def test_fetch_without_a_pin_is_exit_2(tmp_path: Path, monkeypatch, capsys):
    """fetch in a repository that pins nothing says how to pin, in one line, exit 2."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["fetch"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "annotate init --version V" in err


def test_bad_format_is_usage_error(project: Path, capsys):
    """An unknown --format value is a usage error (exit 2), not a crash."""
    assert cli.main(["index", "--format", "yaml"]) == 2
