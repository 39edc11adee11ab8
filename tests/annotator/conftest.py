"""Fixtures for the annotator tests: a course repository that is not this one (``course``).

It is built the way course authors keep theirs: mdBook layout (``book.toml``, ``src/SUMMARY.md``, ``src/phase-02-*/``), a cheatsheet outside
``src/``, no pyproject.toml, and ``upstream/`` as a git clone of a tiny package tagged ``v0.1.0``.
A second release (0.2.0, where every cited line moved down by six) is served from a
file:// package index, so ``rebase --to 0.2.0`` runs offline. Any test module can take the
``course`` fixture to run its command in a foreign repository.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "tinyllm"
COMMIT_020 = "2222222"

POOL_010 = '''"""Blocks of the cache."""


class BlockPool:
    """Hands out blocks."""

    def get_new_blocks(self, n):
        taken = list(range(n))
        return taken

    def free_blocks(self, blocks):
        return None
'''

# 0.2.0: an import and a helper are inserted above, so every line moves down by six.
POOL_020 = POOL_010.replace(
    '"""Blocks of the cache."""\n',
    '"""Blocks of the cache."""\n\nimport math\n\n\ndef _round(n):\n    return math.ceil(n)\n',
    1,
)

DEEP_DIVE = """# Paged blocks

The pool hands out blocks in `tinyllm/core/pool.py:7 — BlockPool.get_new_blocks()`, and
frees them in `tinyllm/core/pool.py:11 — BlockPool.free_blocks()`.

A citation that rotted: `tinyllm/core/pool.py:2 — BlockPool.get_new_blocks()`.
"""

CHEATSHEET = """# Cheatsheet

| symbol | where |
|---|---|
| `BlockPool` | `pool.py:4` |
"""

SUMMARY = """# Summary

- [Paged blocks](phase-02-paged/01-deep-dive.md)
"""


@dataclass(frozen=True)
class Course:
    """Paths of the fixture: the repository, its upstream clone and the file:// index URL."""

    root: Path
    upstream: Path
    index_url: str
    deep_dive: Path
    cheatsheet: Path

    def fix_rotted_anchor(self) -> None:
        """Point the deep dive's broken citation at a line inside its symbol, as an author would."""
        text = self.deep_dive.read_text().replace("pool.py:2 — BlockPool", "pool.py:8 — BlockPool")
        self.deep_dive.write_text(text)


def git(cwd: Path, *args: str) -> str:
    """Run git quietly with a fixed identity; returns stdout."""
    env_args = ["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"]
    done = subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def make_upstream_clone(where: Path) -> str:
    """``upstream/`` as a git repository at tag v0.1.0; returns its HEAD commit."""
    (where / PACKAGE / "core").mkdir(parents=True)
    (where / "pyproject.toml").write_text(f'[project]\nname = "{PACKAGE}"\nversion = "0.1.0"\n')
    (where / PACKAGE / "__init__.py").write_text("")
    (where / PACKAGE / "core" / "__init__.py").write_text("")
    (where / PACKAGE / "core" / "pool.py").write_text(POOL_010)
    git(where, "init", "-q")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "release 0.1.0")
    git(where, "tag", "v0.1.0")
    return git(where, "rev-parse", "HEAD")


def make_sdist(files: Path, version: str, pool: str, commit: str) -> tuple[str, str]:
    """One sdist of the package into ``files``; returns (file name, sha256)."""
    top = f"{PACKAGE}-{version}"
    members = {
        f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n",
        f"{top}/pyproject.toml": f'[project]\nname = "{PACKAGE}"\nversion = "{version}"\n',
        f"{top}/{PACKAGE}/__init__.py": "",
        f"{top}/{PACKAGE}/_version.py": f"__version__ = '{version}'\ncommit_id = 'g{commit}'\n",
        f"{top}/{PACKAGE}/core/__init__.py": "",
        f"{top}/{PACKAGE}/core/pool.py": pool,
    }
    sdist = files / f"{top}.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return sdist.name, hashlib.sha256(sdist.read_bytes()).hexdigest()


def make_index(where: Path, commit_010: str) -> str:
    """A PEP 503 file:// index holding the 0.1.0 and 0.2.0 sdists; returns the index URL."""
    files = where / "files"
    files.mkdir(parents=True)
    links = []
    for version, pool, commit in (("0.1.0", POOL_010, commit_010), ("0.2.0", POOL_020, COMMIT_020)):
        name, sha = make_sdist(files, version, pool, commit)
        links.append(f'<a href="../../files/{name}#sha256={sha}">{name}</a>')
    page = where / "simple" / PACKAGE
    page.mkdir(parents=True)
    (page / "index.html").write_text("<html><body>" + "\n".join(links) + "</body></html>")
    return (where / "simple").as_uri()


def make_course(tmp_path: Path) -> Course:
    """The whole fixture under ``tmp_path/course`` (a git repository itself)."""
    root = tmp_path / "course"
    deep = root / "src" / "phase-02-paged" / "01-deep-dive.md"
    cheat = root / "phase-03-batching" / "CHEATSHEET.md"
    for path in (deep, cheat):
        path.parent.mkdir(parents=True)
    (root / "book.toml").write_text('[book]\ntitle = "A course"\nsrc = "src"\n')
    (root / "src" / "SUMMARY.md").write_text(SUMMARY)
    deep.write_text(DEEP_DIVE)
    cheat.write_text(CHEATSHEET)
    (root / "book").mkdir()
    (root / "book" / "built.md").write_text("`tinyllm/core/pool.py:999` in a build output\n")
    (root / ".github").mkdir()
    (root / ".github" / "notes.md").write_text("`tinyllm/core/pool.py:999` in a hidden folder\n")
    git(root, "init", "-q")
    head = make_upstream_clone(root / "upstream")
    index_url = make_index(tmp_path / "index", head[:9])
    return Course(root, root / "upstream", index_url, deep, cheat)


@pytest.fixture
def course(tmp_path: Path, monkeypatch) -> Course:
    """The foreign course repository, with the cwd inside it and a private cache and index."""
    built = make_course(tmp_path)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ANNOTATE_INDEX_URL", built.index_url)
    monkeypatch.chdir(built.root)
    return built
