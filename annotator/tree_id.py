"""Identify a source tree from itself: which package, version and commit it holds.

A course repository often has ``upstream/`` as a git clone rather than a tree ``annotate fetch``
made, so there may be no pin to trust; the tree's own records are the truth: ``git`` for a
checkout, and for an unpacked sdist its ``PKG-INFO`` plus the ``<pkg>/_version.py`` that
setuptools-scm style builds write (with the commit id). Reading them costs a few small files
or two ``git`` calls, never a scan of the tree.
"""

from __future__ import annotations

import email.parser
import re
import subprocess
import tomllib
from pathlib import Path

from annotator.errors import TreeMissingError
from annotator.records import TreeIdentity

_COMMIT = re.compile(r"""\b(?:__)?commit_id(?:__)?\s*=\s*(?:\w+\s*=\s*)*['"]g?([0-9a-fA-F]{4,40})['"]""")
_VERSION = re.compile(r"""\b__version__\s*=\s*(?:\w+\s*=\s*)*['"]([^'"]+)['"]""")


def identify_tree(path: Path, package: str | None = None) -> TreeIdentity:
    """What ``path`` holds; ``package`` is a hint for trees that do not name themselves.

    A git checkout (``path/.git``) is identified by ``git rev-parse HEAD`` and
    ``git describe --tags``; otherwise the sdist records are read. A tree that records nothing
    gives ``source="unknown"``; a missing directory is a TreeMissingError.
    """
    if not path.is_dir():
        raise TreeMissingError(
            f"{path}: no such directory; create it with `annotate fetch` (or `annotate init`)"
        )
    if is_checkout(path):
        found = _from_git(path, package)
        if found is not None:
            return found
    return _from_sdist(path, package)


def is_checkout(path: Path) -> bool:
    """A tree the user cloned with git: its history is theirs, so nothing of ours ever replaces it."""
    return (path / ".git").exists()


def commits_match(a: str, b: str) -> bool:
    """Whether two commit ids name the same commit: one is a prefix of the other (case-blind)."""
    a, b = a.lower().removeprefix("g"), b.lower().removeprefix("g")
    return bool(a) and bool(b) and (a.startswith(b) or b.startswith(a))


def import_name(package: str) -> str:
    """The folder a distribution's code lives in, by convention (``flash-attn`` → ``flash_attn``)."""
    return re.sub(r"[-.]+", "_", package).lower()


def _git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _from_git(path: Path, package: str | None) -> TreeIdentity | None:
    commit = _git(path, "rev-parse", "HEAD")
    if commit is None:
        return None  # not a usable checkout (no git, or no commit yet): try the files
    described = _git(path, "describe", "--tags")
    version = described.removeprefix("v") if described else None
    return TreeIdentity(_project_name(path) or package, version, commit, f"{path.absolute().name}/.git")


def _project_name(path: Path) -> str | None:
    try:
        data = tomllib.loads((path / "pyproject.toml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name") if isinstance(data.get("project"), dict) else None
    return name if isinstance(name, str) and name else None


def _pkg_info(path: Path) -> tuple[str | None, str | None]:
    try:
        text = (path / "PKG-INFO").read_text("utf-8", "replace")
    except OSError:
        return None, None
    headers = email.parser.HeaderParser().parsestr(text)
    return headers.get("Name") or None, headers.get("Version") or None


def _version_file(path: Path, package: str) -> tuple[str, str] | None:
    """The ``_version.py`` of ``package`` as (path relative to the tree, text), if there is one."""
    for rel in (f"{import_name(package)}/_version.py", f"src/{import_name(package)}/_version.py"):
        try:
            return rel, (path / rel).read_text("utf-8", "replace")
        except OSError:
            continue
    return None


def _from_sdist(path: Path, package: str | None) -> TreeIdentity:
    name, version = _pkg_info(path)
    name, top = name or package, path.absolute().name
    source = f"{top}/PKG-INFO" if version else "unknown"
    commit = None
    found = _version_file(path, name) if name else None
    if found:
        rel, text = found
        match = _COMMIT.search(text)
        if match:
            commit, source = match.group(1).lower(), f"{top}/{rel}"
        if version is None and (declared := _VERSION.search(text)):
            version, source = declared.group(1), f"{top}/{rel}"
    return TreeIdentity(name, version, commit, source)
