"""What a whole tree says about names, from one plain-text pass: who defines, aliases or mentions one.

Finding the successor of a vanished definition needs tree-wide questions (where else is
``forward`` defined? does anything still say ``NixlConnectorWorker = ...``? which files still
mention ``compute_slot_mapping``?). Parsing thousands of files to answer them would dominate a
rebase, so the sources are read once and searched as bytes; the few files a question singles
out are then confirmed through the index by the caller.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_DEF = re.compile(rb"^[ \t]*(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)", re.M)
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True, slots=True)
class Alias:
    """``name`` is bound to ``target`` at ``path:line`` (an assignment or an ``import … as``).

    ``nested`` says the binding is indented (inside a class or function), not at module level.
    """

    path: str
    line: int
    name: str
    target: str
    nested: bool = False


class NameTable:
    """Definitions, aliases and mentions of names across the ``.py`` files of one tree.

    Args:
        root: the tree's top directory.
        paths: the tree's files (posix relpaths); only ``.py`` files are read, lazily, once.
    """

    def __init__(self, root: Path, paths: Iterable[str]) -> None:
        self.root = Path(root)
        self._paths = sorted(p for p in paths if p.endswith(".py"))
        self._sources: dict[str, bytes] | None = None
        self._blob: bytes | None = None
        self._starts: list[int] = []
        self._found: dict[bytes, list[str]] = {}
        self._defs: dict[str, list[str]] | None = None
        self._tokens: dict[str, list[str]] | None = None
        self._token_sets: dict[str, frozenset[str]] = {}

    @property
    def sources(self) -> dict[str, bytes]:
        """Every ``.py`` file's bytes (read on first use)."""
        if self._sources is None:
            self._sources = {p: (self.root / p).read_bytes() for p in self._paths}
        return self._sources

    def _files_with(self, word: bytes) -> list[str]:
        """Files holding ``word`` as a whole identifier: one scan of all sources joined together."""
        if word in self._found:
            return self._found[word]
        if self._blob is None:
            self._blob = b"\0".join(self.sources.values())
            start, self._starts = 0, []
            for data in self.sources.values():
                self._starts.append(start)
                start += len(data) + 1
        blob, starts, paths = self._blob, self._starts, list(self.sources)
        found, pos = [], blob.find(word)
        while pos >= 0:
            end = pos + len(word)
            k = bisect_right(starts, pos) - 1
            if not _word_byte(blob[pos - 1 : pos]) and not _word_byte(blob[end : end + 1]):
                found.append(paths[k])
                pos = blob.find(word, starts[k + 1] if k + 1 < len(starts) else len(blob))
            else:
                pos = blob.find(word, pos + 1)
        self._found[word] = found
        return found

    def defs(self) -> dict[str, list[str]]:
        """Name → the files with a ``def``/``class`` of that name (a superset: the index decides)."""
        if self._defs is None:
            table: dict[str, list[str]] = {}
            for p, data in self.sources.items():
                for name in dict.fromkeys(m.group(1) for m in _DEF.finditer(data)):
                    table.setdefault(name.decode("ascii", "replace"), []).append(p)
            self._defs = table
        return self._defs

    def sharing_tokens(self, name: str, common: int = 400) -> set[str]:
        """Defined names that share a name token with ``name``; tokens shared by more than
        ``common`` names (``get``, ``apply``) count only when ``name`` has no rarer one."""
        if self._tokens is None:
            table: dict[str, list[str]] = {}
            for other in self.defs():
                self._token_sets[other] = frozenset(tokens(other))
                for t in self._token_sets[other]:
                    table.setdefault(t, []).append(other)
            self._tokens = table
        lists = sorted((self._tokens.get(t, []) for t in tokens(name)), key=len)
        found: set[str] = set()
        for names in lists:
            if len(names) <= common or not found:
                found.update(names)
        return found

    def token_set(self, name: str) -> frozenset[str]:
        """The name tokens of a defined name (remembered)."""
        if name not in self._token_sets:
            self._token_sets[name] = frozenset(tokens(name))
        return self._token_sets[name]

    def definers(self, name: str) -> list[str]:
        """Files that define ``name``, sorted."""
        return list(self.defs().get(name, ()))

    def mentions(self, word: str, under: str = "") -> list[str]:
        """Files (below the folder ``under``) in which ``word`` occurs as a whole identifier."""
        return [p for p in self._files_with(word.encode("ascii", "replace")) if p.startswith(under)]

    def aliases(self, name: str) -> list[Alias]:
        """Bindings of ``name`` to another dotted name: ``name = Other`` or ``… import Other as name``."""
        word = name.encode("ascii", "replace")
        raw = re.escape(word)
        assign = re.compile(rb"^[ \t]*" + raw + rb"[ \t]*(?::[^=\n]*)?=[ \t]*([A-Za-z_][\w.]*)[ \t]*(?:#.*)?$", re.M)
        imported = re.compile(rb"([A-Za-z_][\w.]*)[ \t]+as[ \t]+" + raw + rb"\b")
        found = []
        for p in self._files_with(word):
            data = self.sources[p]
            wanted = [pat for pat, hint in ((assign, b"="), (imported, b"as " + word)) if hint in data]
            for pattern in wanted:
                for m in pattern.finditer(data):
                    target = m.group(1).decode("ascii", "replace")
                    if target != name:
                        line_start = data.rfind(b"\n", 0, m.start()) + 1
                        nested = data[line_start:line_start + 1] in (b" ", b"\t")
                        found.append(Alias(p, data.count(b"\n", 0, m.start()) + 1, name, target, nested))
        return found


AUXILIARY = frozenset({"tests", "test", "examples", "benchmarks", "docs", "tools"})


def same_side(old_path: str, new_path: str) -> bool:
    """False when ``new_path`` lies in tests/examples/benchmarks and ``old_path`` does not:
    a test that defines a look-alike never inherits the package's job."""
    top = new_path.partition("/")[0]
    return top not in AUXILIARY or old_path.partition("/")[0] == top


def _word_byte(b: bytes) -> bool:
    return bool(b) and (b.isalnum() or b == b"_")


def tokens(name: str) -> set[str]:
    """``compute_slot_mappings`` → {compute, slot, mappings}; ``NgramGPUSpeculator`` → {ngram, gpu, speculator}."""
    return {t.lower() for part in name.split("_") for t in _TOKEN.findall(part)}
