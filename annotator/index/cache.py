"""The index's on-disk cache: per-file entries keyed by content hash, plus one pack per tree.

* ``files/ab/<sha256>.marshal`` — one file's extraction, written when that file is parsed, so a
  lazy ``verify`` that touches a few files reads a few small entries.
* ``packs/<key>.flow.marshal`` — the value flow of every file of the tree, for the call graph
  (:mod:`annotator.index.flow`), written and read only when a call graph is built.
* ``packs/<hash of the tree's root path>.marshal`` — every entry of one tree in a single file,
  written by a bulk load (which writes no per-file entries: creating thousands of small files
  costs more than parsing them on some filesystems), so a warm ``load_all`` reads one file
  instead of 3,000 and a lazy reader finds any file there too. Inside, entries are still keyed
  by content hash; after an edit the old pack still serves every unchanged file.

Entries are plain tuples (see :mod:`annotator.index.parse`) serialised with :mod:`marshal`, the
fastest loader for such data; the directory name (:func:`cache_tag`) changes with the schema,
the Python version (marshal's format), the extractor's source and the grammar build. A cache entry is disposable: writes
are atomic (temp file + rename) but not fsynced — a lost entry is simply re-parsed — and any
entry that fails to load is treated as missing.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from annotator import atomic
from annotator.records import AttrType, CallSite, ClassBases, FileIndex, RawImport, Symbol

SCHEMA = 5  # bump whenever the entry or pack shape changes


@lru_cache(maxsize=1)
def cache_tag() -> str:
    """Directory name that changes whenever a cached entry could differ for the same file bytes.

    It folds in the schema, the Python version (marshal's format), the source of the extractor
    and the size of the compiled grammar, so a fix to :mod:`annotator.index.parse` or a new
    tree-sitter-python never serves stale results. Cheap: two stats and three small reads.
    """
    import tree_sitter_python

    from annotator.index import flow as index_flow, flow_expr, parse as index_parse

    h = hashlib.sha256()
    for module in (index_parse, index_flow, flow_expr):  # the extractors of entries and flows
        h.update(Path(module.__file__).read_bytes())
    grammar = Path(tree_sitter_python.__file__).parent
    for lib in sorted(grammar.glob("_binding*")):
        h.update(f"{lib.name}:{lib.stat().st_size}".encode())
    return f"v{SCHEMA}-py{sys.version_info[0]}{sys.version_info[1]}-{h.hexdigest()[:12]}"


class Cache:
    """Where one tree's index entries live; safe to share between processes (atomic renames)."""

    def __init__(self, base: Path, root: Path) -> None:
        self.base = Path(base) / cache_tag()
        key = hashlib.sha256(str(Path(root).resolve()).encode("utf-8")).hexdigest()[:20]
        self.pack_path = self.base / "packs" / f"{key}.marshal"
        self.flow_pack_path = self.base / "packs" / f"{key}.flow.marshal"

    def entry_path(self, digest: str) -> Path:
        """The per-file entry of content ``digest``."""
        return self.base / "files" / digest[:2] / f"{digest}.marshal"

    def read_entry(self, digest: str) -> tuple | None:
        """The cached extraction of content ``digest``, or None (absent or unreadable)."""
        return loads(self.read_entry_bytes(digest))

    def read_entry_bytes(self, digest: str) -> bytes | None:
        """The marshalled entry of content ``digest`` as stored, or None when absent."""
        try:
            return self.entry_path(digest).read_bytes()
        except OSError:
            return None

    def write_entry(self, digest: str, entry: tuple) -> None:
        """Store one extraction; a failure to write (read-only cache) is not an error."""
        try:
            atomic.write_bytes(self.entry_path(digest), marshal.dumps(entry), fsync=False)
        except OSError:
            pass

    def read_pack(self, path: Path | None = None) -> dict[str, bytes]:
        """digest → marshalled entry for this tree's last bulk load; {} when there is none.

        Entries stay marshalled so reading the pack costs milliseconds: a lazy reader decodes
        only the few files it asks for, a bulk load decodes them all.
        """
        try:
            pack = marshal.loads((path or self.pack_path).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        return pack if isinstance(pack, dict) else {}

    def write_pack(self, pack: dict[str, bytes], path: Path | None = None) -> None:
        """Replace this tree's pack (only the digests the tree holds now, so it never grows stale).

        ``path`` picks the flow pack (:mod:`annotator.index.flow`), kept apart so that loading
        the index does not pay for the call graph's far larger per-file data.
        """
        try:
            atomic.write_bytes(path or self.pack_path, marshal.dumps(pack), fsync=False)
        except OSError:
            pass

    def result_path(self, name: str, key: str) -> Path:
        """Where a result derived from the whole tree (``name``, content ``key``) is kept."""
        return self.base / "results" / f"{self.pack_path.stem}-{name}-{key}.marshal"

    def read_result(self, name: str, key: str) -> object | None:
        """A stored whole-tree result (the call graph), or None when absent or unreadable."""
        try:
            return marshal.loads(self.result_path(name, key).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None

    def write_result(self, name: str, key: str, value: object) -> None:
        """Store a whole-tree result, replacing this tree's older ones of that name."""
        path = self.result_path(name, key)
        try:
            for old in path.parent.glob(f"{self.pack_path.stem}-{name}-*.marshal"):
                if old != path:
                    old.unlink(missing_ok=True)
            atomic.write_bytes(path, marshal.dumps(value), fsync=False)
        except OSError:
            pass


def loads(blob: bytes | None) -> tuple | None:
    """A marshalled entry back as a tuple; None for None or for bytes that do not load."""
    if blob is None:
        return None
    try:
        entry = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None
    return entry if isinstance(entry, tuple) else None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many records at once.

    Decoding a tree allocates ~300k tracked objects; left on, the collector rescans the growing
    heap again and again and more than doubles the time. Nothing built here forms a cycle, and
    the records live as long as the index, so on the way out they are frozen (moved to the
    permanent generation) instead of being scanned by the next full collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def _call_sites(callers: tuple, callees: tuple, lines: tuple) -> tuple[CallSite, ...]:
    """CallSite records without running the dataclass ``__init__`` (a third of the warm load).

    A frozen slots dataclass's generated ``__init__`` only assigns each slot; assigning through
    the slot descriptors directly builds identical, equal objects in about two thirds the time.
    """
    new = object.__new__
    set_caller, set_callee, set_line = _CALL_SLOTS
    out = []
    append = out.append
    for caller, callee, line in zip(callers, callees, lines):
        site = new(CallSite)
        set_caller(site, caller)
        set_callee(site, callee)
        set_line(site, line)
        append(site)
    return tuple(out)


_CALL_SLOTS = (CallSite.caller.__set__, CallSite.callee.__set__, CallSite.line.__set__)


def decode(entry: tuple, path: str, module: str, digest: str) -> FileIndex:
    """Rebuild the records of one encoded extraction for the file at ``path``."""
    n_lines, summary, symbols, imports, calls, attrs, bases, errors = entry
    return FileIndex(
        path=path,
        module=module,
        digest=digest,
        n_lines=n_lines,
        summary=summary,
        symbols=tuple([Symbol(*s) for s in symbols]),
        imports=tuple([RawImport(m, n, lv, ln, a) for m, n, lv, ln, a in imports]),
        calls=_call_sites(*calls),
        attr_types=tuple([AttrType(*a) for a in attrs]),
        bases=tuple([ClassBases(c, b) for c, b in bases]),
        errors=tuple(errors),
    )
