"""One upstream tree as a rebase sees it: the symbol index plus the raw lines it cites.

The index keeps spans, not text; a rebase compares text, so this view reads (and remembers) the
lines of the few files that anchors actually touch. Finding where a definition went in a tree of
thousands of files must not parse them all on a cold cache, so :meth:`TreeView.definers` narrows
the search with one plain-text pass for ``def NAME``/``class NAME`` and lets the index confirm.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from annotator.records import FileIndex, Symbol


class IndexLike(Protocol):
    """What rebase needs of :class:`annotator.index.SymbolIndex` (tests may pass a fake)."""

    root: Path
    paths: frozenset[str]

    def file(self, path: str) -> FileIndex | None: ...


class TreeView:
    """A tree's index, its file lines and a name → defining-files table, all read lazily.

    Args:
        index: the tree's symbol index.
        version: the release the tree holds, for diff headers (e.g. ``"0.22.1"``).
    """

    def __init__(self, index: IndexLike, version: str = "") -> None:
        self.index = index
        self.root = Path(index.root)
        self.version = version
        self._lines: dict[str, list[str]] = {}
        self._sources: dict[str, bytes] | None = None
        self._dirs: dict[str, list[str]] | None = None

    def has(self, path: str) -> bool:
        """True when the tree holds ``path`` (any extension)."""
        return path in self.index.paths

    def file(self, path: str) -> FileIndex | None:
        """The index of a ``.py`` file, or None."""
        return self.index.file(path) if self.has(path) else None

    def lines(self, path: str) -> list[str]:
        """The file's text lines (element 0 is line 1); undecodable bytes become U+FFFD."""
        if path not in self._lines:
            data = (self.root / path).read_bytes() if self.has(path) else b""
            text = data.decode("utf-8", "replace")
            self._lines[path] = text.split("\n")
        return self._lines[path]

    def span(self, path: str, first: int, last: int) -> list[str]:
        """Lines ``first..last`` (1-based, inclusive) of ``path``."""
        return self.lines(path)[first - 1 : last]

    def symbol_lines(self, path: str, sym: Symbol) -> list[str]:
        """A definition's lines, decorators to last line."""
        return self.span(path, sym.start, sym.end)

    def definers(self, name: str) -> list[str]:
        """``.py`` files with a line that defines ``name`` (a superset; the index decides)."""
        if self._sources is None:
            self._sources = {
                p: (self.root / p).read_bytes() for p in sorted(self.index.paths) if p.endswith(".py")
            }
        word = name.encode("ascii", "replace")
        pattern = re.compile(rb"^[ \t]*(?:async[ \t]+def|def|class)[ \t]+" + re.escape(word) + rb"\b", re.M)
        return [p for p, data in self._sources.items() if word in data and pattern.search(data)]

    def neighbours(self, path: str) -> list[str]:
        """The other ``.py`` files in ``path``'s directory (its sibling modules), sorted."""
        if self._dirs is None:
            table: dict[str, list[str]] = {}
            for p in sorted(self.index.paths):
                if p.endswith(".py"):
                    table.setdefault(p.rpartition("/")[0], []).append(p)
            self._dirs = table
        return [p for p in self._dirs.get(path.rpartition("/")[0], ()) if p != path]

    def same_basename(self, path: str) -> list[str]:
        """Files elsewhere in the tree with ``path``'s basename, sorted."""
        base = path.rpartition("/")[2]
        return sorted(p for p in self.index.paths if p.rpartition("/")[2] == base and p != path)
