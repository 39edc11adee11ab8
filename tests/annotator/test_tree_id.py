"""Tests for annotator.tree_id: a tree names its package, version and commit from its own records."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from annotator.errors import TreeMissingError
from annotator.records import TreeIdentity
from annotator.tree_id import commits_match, identify_tree, import_name

VLLM_STYLE = "__version__ = version = '0.22.1'\n__commit_id__ = commit_id = 'g0decac0d9'\n"


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _git(cwd: Path, *args: str) -> str:
    ident = ["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize(
    ("files", "hint", "expected"),
    [
        (
            {"PKG-INFO": "Metadata-Version: 2.4\nName: vllm\nVersion: 0.22.1\n", "vllm/_version.py": VLLM_STYLE},
            None,
            TreeIdentity("vllm", "0.22.1", "0decac0d9", "up/vllm/_version.py"),
        ),
        (
            {"PKG-INFO": "Name: flash-attn\nVersion: 2.8.3\n", "src/flash_attn/_version.py": "commit_id = None\n"},
            None,
            TreeIdentity("flash-attn", "2.8.3", None, "up/PKG-INFO"),
        ),
        (
            {"PKG-INFO": "Name: Tiny.Widgets\nVersion: 1.0\n", "tiny_widgets/_version.py": "commit_id = 'ABCDEF1'\n"},
            None,
            TreeIdentity("Tiny.Widgets", "1.0", "abcdef1", "up/tiny_widgets/_version.py"),
        ),
        ({"pkg/_version.py": "__version__ = '3.1'\n"}, "pkg", TreeIdentity("pkg", "3.1", None, "up/pkg/_version.py")),
        ({"README.md": "hello\n"}, "pkg", TreeIdentity("pkg", None, None, "unknown")),
    ],
    ids=["vllm-sdist", "no-commit-src-layout", "normalised-name", "version-file-only", "nothing"],
)
def test_sdist_tree_identity(tmp_path, files, hint, expected):
    """An unpacked sdist is identified from PKG-INFO and <pkg>/_version.py, the commit when recorded."""
    assert identify_tree(_write(tmp_path / "up", files), hint) == expected


def test_git_checkout_identity(tmp_path):
    """A git checkout gives HEAD's full commit and `git describe --tags` without the v."""
    up = _write(tmp_path / "upstream", {"pyproject.toml": '[project]\nname = "tinyllm"\n', "t/a.py": "x = 1\n"})
    _git(up, "init", "-q")
    _git(up, "add", "-A")
    _git(up, "commit", "-q", "-m", "one")
    _git(up, "tag", "v0.1.0")
    head = _git(up, "rev-parse", "HEAD")
    assert identify_tree(up) == TreeIdentity("tinyllm", "0.1.0", head, "upstream/.git")
    (up / "t/a.py").write_text("x = 2\n")
    _git(up, "commit", "-q", "-am", "two")
    later = identify_tree(up, "hint")
    assert later.version.startswith("0.1.0-1-g") and later.commit != head and len(later.commit) == 40


def test_git_checkout_without_tag_or_name_uses_hint(tmp_path):
    """No tag and no pyproject name: version unknown, package from the caller's hint."""
    up = _write(tmp_path / "upstream", {"a.py": "x = 1\n"})
    _git(up, "init", "-q")
    _git(up, "add", "-A")
    _git(up, "commit", "-q", "-m", "one")
    found = identify_tree(up, "sglang")
    assert (found.package, found.version, found.source) == ("sglang", None, "upstream/.git")
    assert found.summary() == f"sglang unknown @ {found.commit[:7]}, from upstream/.git"


def test_missing_tree_is_one_line(tmp_path):
    """A missing directory is a TreeMissingError naming it and saying how to make it."""
    with pytest.raises(TreeMissingError, match="annotate fetch") as err:
        identify_tree(tmp_path / "nope")
    assert "\n" not in str(err.value) and "nope" in str(err.value)


def test_summary_and_commit_matching():
    """The summary line shortens the commit to 7; commits match by prefix either way, case-blind."""
    assert TreeIdentity("vllm", "0.22.1", "0decac0d9", "upstream/.git").summary() == (
        "vllm 0.22.1 @ 0decac0, from upstream/.git"
    )
    assert TreeIdentity(None, None, None, "unknown").summary() == "unknown unknown, from unknown"
    assert commits_match("0decac0d9", "0DECAC0D9aa") and commits_match("g0decac0", "0decac0d9")
    assert not commits_match("0decac0", "0decac1") and not commits_match("", "0decac0")
    assert import_name("flash-attn") == "flash_attn" and import_name("Tiny.Widgets") == "tiny_widgets"


@pytest.mark.upstream
def test_real_pinned_tree_identity(upstream_tree: Path):
    """The real pinned tree names itself vllm 0.22.1 at commit 0decac0d9."""
    found = identify_tree(upstream_tree)
    assert (found.package, found.version, found.commit) == ("vllm", "0.22.1", "0decac0d9")
