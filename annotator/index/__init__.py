"""The symbol index of one source tree: what is defined where, what each file imports and calls.

Everything downstream (verify, rebase, the graphs, MAP.md, the site) asks this index instead of
reading Python itself, so it has to be cheap in two very different uses:

* ``verify`` touches a few dozen files: :func:`open_index` only lists the tree, and
  :meth:`SymbolIndex.file` loads one file when first asked — from its per-file cache entry,
  else from the tree's pack (read once, entries still marshalled), else by parsing it.
* the graphs and ``annotate index`` want every file: :meth:`SymbolIndex.load_all` parses the
  files the cache does not know in a process pool, and otherwise loads one consolidated pack.

Cache entries are keyed by the sha256 of a file's bytes (never by mtime), so editing one file
re-parses exactly that file. Qualified names follow :mod:`annotator.records`: ``Class.method``
for methods and ``outer.inner`` for nested functions (no ``<locals>``). The per-file extraction
(tree-sitter) lives in :mod:`annotator.index.parse`; the on-disk cache in
:mod:`annotator.index.cache`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from annotator.index import bulk as index_bulk, cache as index_cache, parse as index_parse
from annotator.index.bulk import Progress, read_source
from annotator.index.parse import count_lines
from annotator.records import FileIndex, Symbol

# Directories that are never part of a source tree's content (VCS metadata, virtualenvs, caches).
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".tox", ".venv", "venv", "__pycache__", "node_modules"})
# Below this many files to parse, a process pool costs more than it saves.
POOL_THRESHOLD = 48


@dataclass(frozen=True)
class IndexStats:
    """Counts for ``annotate index --stats``; ``errors`` counts files with unparseable regions."""

    files: int
    symbols: int
    imports: int
    calls: int
    cache_hits: int
    parsed: int
    seconds: float
    errors: int

    def to_json(self) -> dict[str, object]:
        """Plain dict in a fixed key order, for ``--format json``."""
        return {**asdict(self), "seconds": round(self.seconds, 3)}


def open_index(
    root: Path,
    cache_dir: Path,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> SymbolIndex:
    """List ``root`` and return a lazy index over it; nothing is parsed yet.

    Args:
        root: the tree's top directory; every path in the index is relative to it (posix).
        cache_dir: the annotate cache; entries go under ``cache_dir/"index"``.
        jobs: worker processes for cold bulk loads (default: the number of CPUs).
        progress: ``update(phase, done, total)`` called while bulk-parsing, for a progress bar.
    """
    root = Path(root)
    return SymbolIndex(root, frozenset(list_tree(root)), cache_dir, jobs=jobs, progress=progress)


def list_tree(root: Path) -> list[str]:
    """Every file under ``root`` as a sorted posix relpath, skipping :data:`SKIP_DIRS`.

    Symlinked files count when their target is a file inside the tree (a dangling link, or one
    pointing out of it such as ``/etc/passwd``, does not: the index must never read outside the
    tree it was given); symlinked directories are not entered, so a link cycle cannot loop.
    """
    found: list[str] = []
    top = os.path.realpath(root)
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # unreadable directory: nothing of it can be cited either
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS:
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
            elif entry.is_file() and (not entry.is_symlink() or _inside(entry.path, top)):
                found.append(prefix + entry.name)
    return sorted(found)


def _inside(path: str, top: str) -> bool:
    """Whether ``path`` (a symlink) resolves to a file under the real directory ``top``."""
    real = os.path.realpath(path)
    return real.startswith(top.rstrip(os.sep) + os.sep)


def module_name(path: str, prefix: str = "") -> str:
    """Dotted module of a ``.py`` relpath; a package's ``__init__.py`` names the package itself.

    ``prefix`` is the package the tree's root itself is (see :func:`package_prefix`).
    """
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    if prefix:
        parts.insert(0, prefix)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def package_prefix(root: Path) -> str:
    """The dotted package a tree's root directory is, "" when it is not a package.

    Indexing ``annotator/`` itself (it has an ``__init__.py``) must name its modules
    ``annotator.index`` and not ``index``, or its own absolute imports would not resolve.
    """
    names: list[str] = []
    here = Path(root).resolve()
    while (here / "__init__.py").is_file() and here.name.isidentifier():
        names.insert(0, here.name)
        here = here.parent
    return ".".join(names)


def symbols_containing(fi: FileIndex, line: int) -> list[Symbol]:
    """Definitions whose span (decorators..end) contains ``line``, outermost first."""
    hits = [s for s in fi.symbols if s.start <= line <= s.end]
    hits.sort(key=lambda s: (s.start, -s.end, s.line))
    return hits


class SymbolIndex:
    """A tree's files and, on demand, each ``.py`` file's :class:`FileIndex`.

    Attributes:
        root: the tree's top directory.
        paths: every file in the tree (any extension), posix relpaths.
        prefix: the package the root directory itself is ("" for a plain directory).
    """

    def __init__(
        self,
        root: Path,
        paths: frozenset[str],
        cache_dir: Path,
        *,
        jobs: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.root = root
        self.paths = paths
        self.prefix = package_prefix(root)
        self._cache = index_cache.Cache(Path(cache_dir) / "index", root)
        self._jobs = jobs or os.cpu_count() or 1
        self._progress = progress
        self._files: dict[str, FileIndex] = {}
        self._basenames: dict[str, list[str]] | None = None
        self._by_name: dict[str, list[tuple[str, Symbol]]] | None = None
        self._pack_entries: dict[str, bytes] | None = None
        self._hits = 0
        self._parsed = 0
        self._seconds = 0.0

    # -- single files -------------------------------------------------------------------------

    def file(self, path: str) -> FileIndex | None:
        """The index of one ``.py`` file (cached, or parsed now); None for other or absent files."""
        if path in self._files:
            return self._files[path]
        if not path.endswith(".py") or path not in self.paths:
            return None
        started = time.perf_counter()
        data = read_source(self.root, path)
        digest = hashlib.sha256(data).hexdigest()
        entry = self._cache.read_entry(digest) or index_cache.loads(self._pack().get(digest))
        if entry is None:
            entry = index_parse.extract_safely(data)
            self._cache.write_entry(digest, entry)
            self._parsed += 1
        else:
            self._hits += 1
        fi = index_cache.decode(entry, path, module_name(path, self.prefix), digest)
        self._files[path] = fi
        self._seconds += time.perf_counter() - started
        return fi

    def _pack(self) -> dict[str, bytes]:
        """The tree's pack, read at most once: after a bulk load it answers every file."""
        if self._pack_entries is None:
            self._pack_entries = self._cache.read_pack()
        return self._pack_entries

    def line_count(self, path: str) -> int:
        """Number of text lines of any file in the tree (a last line without newline counts); 0 if absent."""
        if path in self._files:
            return self._files[path].n_lines
        if path not in self.paths:
            return 0
        return count_lines(read_source(self.root, path))

    def by_basename(self, name: str) -> list[str]:
        """Sorted relpaths whose last component is ``name`` (for basename-only anchors)."""
        if self._basenames is None:
            table: dict[str, list[str]] = {}
            for p in sorted(self.paths):
                table.setdefault(p.rsplit("/", 1)[-1], []).append(p)
            self._basenames = table
        return list(self._basenames.get(name, ()))

    # -- the whole tree -----------------------------------------------------------------------

    def py_paths(self) -> list[str]:
        """Every ``.py`` file of the tree, sorted."""
        return sorted(p for p in self.paths if p.endswith(".py"))

    def load_all(self) -> dict[str, FileIndex]:
        """Index every ``.py`` file: pack and per-file cache first, then a process pool for the rest.

        Returns a new dict (path → FileIndex) sorted by path; the index keeps its own copy.
        """
        every = self.py_paths()
        if any(p not in self._files for p in every):
            started = time.perf_counter()
            encoded, parsed = index_bulk.load(
                self.root, every, self._cache, self._jobs, self._progress, POOL_THRESHOLD
            )
            new = [p for p in every if p not in self._files]
            with index_cache.gc_paused():
                for path in new:
                    digest, entry = encoded[path]
                    module = module_name(path, self.prefix)
                    self._files[path] = index_cache.decode(entry, path, module, digest)
            n_parsed = sum(1 for p in new if p in parsed)
            self._parsed += n_parsed
            self._hits += len(new) - n_parsed
            self._seconds += time.perf_counter() - started
        return {p: self._files[p] for p in every}

    def load_flows(self) -> dict[str, bytes]:
        """The value flow of every ``.py`` file (path → marshalled flow, :mod:`annotator.index.flow`).

        Kept out of :meth:`load_all`: only the call graph needs it, and it is several times the
        size of the index. Cached by content hash in its own pack beside the index's.
        """
        files = self.load_all()
        digests = {p: fi.digest for p, fi in files.items()}
        return index_bulk.load_flows(
            self.root, digests, self._cache, self._jobs, self._progress, POOL_THRESHOLD
        )

    @property
    def cache(self) -> index_cache.Cache:
        """This tree's cache, for results derived from the whole tree (the call graph)."""
        return self._cache

    def find_symbol(self, label: str) -> list[tuple[str, Symbol]]:
        """Definitions anywhere in the tree whose qualname ends with ``label``'s dotted parts.

        ``"get_new_blocks"``, ``"BlockPool.get_new_blocks"`` and ``"BlockPool.get_new_blocks()"``
        all find ``BlockPool.get_new_blocks``; matching is on whole dotted parts, so ``"blocks"``
        does not. Results are sorted by (path, def line).
        """
        parts = label.strip().removesuffix("()").split(".")
        if self._by_name is None:
            self._by_name = _name_table(self.load_all().items())
        found = [
            (path, sym)
            for path, sym in self._by_name.get(parts[-1], ())
            if sym.qualname.split(".")[-len(parts) :] == parts
        ]
        return sorted(found, key=lambda hit: (hit[0], hit[1].line))

    def modules(self) -> dict[str, str]:
        """Dotted module name → relpath for every ``.py`` file (a package wins over a same-named module)."""
        table: dict[str, str] = {}
        for path in self.py_paths():
            name = module_name(path, self.prefix)
            if name not in table or path.endswith("/__init__.py"):
                table[name] = path
        return table

    @property
    def stats(self) -> IndexStats:
        """Counts over the files loaded so far (call :meth:`load_all` first for whole-tree figures)."""
        files = list(self._files.values())
        return IndexStats(
            files=len(files),
            symbols=sum(len(f.symbols) for f in files),
            imports=sum(len(f.imports) for f in files),
            calls=sum(len(f.calls) for f in files),
            cache_hits=self._hits,
            parsed=self._parsed,
            seconds=self._seconds,
            errors=sum(1 for f in files if f.errors),
        )


def _name_table(files: Iterable[tuple[str, FileIndex]]) -> dict[str, list[tuple[str, Symbol]]]:
    table: dict[str, list[tuple[str, Symbol]]] = {}
    for path, fi in files:
        for sym in fi.symbols:
            table.setdefault(sym.qualname.rsplit(".", 1)[-1], []).append((path, sym))
    return table
