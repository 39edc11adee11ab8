"""Check each anchor against a tree: one status, a message a person reads at a glance, a fix.

The check that matters is containment: a symbol label names a definition, and that
definition's span (first decorator to last line) must contain the cited line(s). Asking only
whether the line exists lets through nearly every mis-citation real course material has.

Statuses (:data:`annotator.records.STATUSES`), decided in this order:

* ``missing-file`` — the path is not in the tree, or points outside it (``../``, absolute);
* ``ambiguous-path`` — a basename matches several files and neither the document's nearest
  full path nor the cited symbol picks one;
* ``line-out-of-range`` — a cited line is past the end of the file (or a range runs backwards);
* ``ok`` — a prose label, no label, or a non-``.py`` file: the line exists; a symbol label: a
  matching definition contains the line(s) (an attribute assigned on the line counts too);
* ``wrong-line`` — the symbol is defined in the file but elsewhere (suggestion: its def line);
* ``wrong-file`` — the symbol is not in the file but is elsewhere in the tree (suggestion: there);
* ``unknown-symbol`` — nowhere (suggestion: the nearest names in the file).

Nothing outside the tree is opened: paths are normalised and must be among the tree's listed
files, and a file's real path must stay under the tree's real root before any byte is read.
Suggestions rewrite the anchor's own path/line characters, so they keep the writer's style.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Protocol

from annotator.index import symbols_containing
from annotator.records import Anchor, AnchorKind, FileIndex, Finding, Status, Symbol
from annotator.resolve.match import ends_with, innermost, kind_of, matches, name_table, symbol_parts
from annotator.resolve.suggest import nearest_names, relabel, rewrite

__all__ = ["MAX_DISAMBIGUATE", "Index", "kind_of", "resolve", "tree_relative"]

MAX_DISAMBIGUATE = 50  # basename candidates we are willing to open to find the cited symbol
_KIND_WORDS = {"def": "the def line", "lead": "a decorator or docstring line", "interior": "inside the body"}


class Index(Protocol):
    """The part of :class:`annotator.index.SymbolIndex` the resolver uses."""

    root: os.PathLike[str] | str
    paths: frozenset[str]

    def file(self, path: str) -> FileIndex | None: ...
    def by_basename(self, name: str) -> list[str]: ...
    def find_symbol(self, label: str) -> list[tuple[str, Symbol]]: ...
    def line_count(self, path: str) -> int: ...


def resolve(anchors: list[Anchor], index: Index) -> list[Finding]:
    """One :class:`Finding` per anchor, in the same order."""
    resolver = _Resolver(index)
    return [resolver.resolve(a) for a in anchors]


def tree_relative(cited: str) -> str | None:
    """The normalised tree-relative path, or None when the cited path leaves the tree."""
    if not cited or cited.startswith(("/", "~")) or "\\" in cited:
        return None
    norm = posixpath.normpath(cited)
    if norm in (".", "..") or norm.startswith("../"):
        return None
    return norm


class _Resolver:
    """Per-run caches (real paths, name tables, file lines) around the decision for one anchor."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._real_root = os.path.realpath(index.root)
        self._safe: dict[str, bool] = {}
        self._real_dirs: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}
        self._names: dict[str, dict[str, list[Symbol]]] = {}
        self._n_lines: dict[str, int] = {}  # the index counts non-.py files afresh on each call

    # -- the decision ----------------------------------------------------------------------

    def resolve(self, a: Anchor) -> Finding:
        """Locate the file, check the line range, then (symbol labels in .py files) containment."""
        located = self._locate(a)
        if isinstance(located, Finding):
            return located
        path = located
        fi = self.index.file(path) if path.endswith(".py") else None
        if fi is not None:
            n_lines = fi.n_lines
        elif path in self._n_lines:
            n_lines = self._n_lines[path]
        else:
            n_lines = self._n_lines[path] = self.index.line_count(path)
        last = a.line_end or a.line
        if a.line < 1 or last > n_lines or last < a.line:
            return self._out_of_range(a, path, fi, n_lines)
        if fi is None or a.label_kind != "symbol" or not a.label:
            return self._ok_line(a, path, fi, n_lines)
        return self._check_symbol(a, path, fi, a.label)

    def _locate(self, a: Anchor) -> str | Finding:
        rel = tree_relative(a.path)
        if rel is None:
            return _finding(a, None, None, "missing-file", f"{a.path} points outside the upstream tree")
        if rel in self.index.paths:
            return rel if self._inside(rel) else self._escaping(a)
        name = rel.rsplit("/", 1)[-1]
        candidates = [p for p in self.index.by_basename(name) if "/" not in rel or p.endswith("/" + rel)]
        if not candidates:
            return self._missing(a, rel)
        pick = candidates[0] if len(candidates) == 1 else self._disambiguate(a, candidates)
        if pick is None:
            return self._ambiguous(a, rel, candidates)
        return pick if self._inside(pick) else self._escaping(a)

    def _disambiguate(self, a: Anchor, candidates: list[str]) -> str | None:
        """The nearest full path's directory first; else the one file whose symbol contains the line."""
        if a.near_dir:
            near = [p for p in candidates if _dir_matches(posixpath.dirname(p), a.near_dir)]
            if len(near) == 1:
                return near[0]
        if a.label_kind != "symbol" or not a.label:
            return None
        if len(candidates) > MAX_DISAMBIGUATE:  # cheaper to ask the whole-tree name table
            names = set(candidates)
            hits = self.index.find_symbol(a.label)
            holding = sorted({p for p, s in hits if p in names and s.contains(a.line, a.line_end)})
        else:
            holding = [p for p in candidates if self._containing(p, a) is not None]
        return holding[0] if len(holding) == 1 else None

    def _check_symbol(self, a: Anchor, path: str, fi: FileIndex, label: str) -> Finding:
        found = self._matches(fi, label)
        sym = innermost([s for s in found if s.contains(a.line, a.line_end)])
        if sym is not None:
            kind = kind_of(sym, a.line)
            span = f"{sym.qualname} (lines {sym.start}–{sym.end})"
            message = f"{span} contains line {a.line}: {_KIND_WORDS[kind]}"
            return _finding(a, path, kind, "ok", message)
        if self._assigns(path, fi, symbol_parts(label), a.line):
            return _finding(a, path, "def", "ok", f"line {a.line} assigns {label}")
        if found:
            near = min(found, key=lambda s: (abs(s.line - a.line), s.line))
            message = (f"{near.qualname} spans lines {near.start}–{near.end} of {path}, which does not "
                       f"include line {a.line}; its def line is {near.line}")
            return _finding(a, path, None, "wrong-line", message, rewrite(a, line=near.line))
        return self._elsewhere(a, path, fi, label)

    def _elsewhere(self, a: Anchor, path: str, fi: FileIndex, label: str) -> Finding:
        hits = [(p, s) for p, s in self.index.find_symbol(label) if p != path]
        if hits:
            where, sym = max(hits, key=lambda h: (_shared_dirs(h[0], path), -len(h[0])))
            more = f" (and {len(hits) - 1} other definitions)" if len(hits) > 1 else ""
            message = f"{label} is not defined in {path}; it is at {where}:{sym.line}{more}"
            return _finding(a, path, None, "wrong-file", message, rewrite(a, path=where, line=sym.line))
        near = nearest_names(fi, label)
        hint = f"; nearest in the file: {', '.join(s.qualname for s in near)}" if near else ""
        suggestion = rewrite(a, line=near[0].line, label=relabel(label, near[0])) if near else None
        message = f"no definition named {label} in {path} or anywhere in the tree{hint}"
        return _finding(a, path, None, "unknown-symbol", message, suggestion)

    # -- the other outcomes -----------------------------------------------------------------

    def _ok_line(self, a: Anchor, path: str, fi: FileIndex | None, n_lines: int) -> Finding:
        kind: AnchorKind | None = None
        if fi is not None:
            around = symbols_containing(fi, a.line)
            kind = kind_of(around[-1], a.line) if around else None
        cited = f"lines {a.line}–{a.line_end} exist" if a.line_end else f"line {a.line} exists"
        why = ""
        if a.label_kind == "prose":
            why = "; the label is prose, so only the line is checked"
        elif a.label_kind == "symbol":
            why = "; not a Python file, so only the line is checked"
        return _finding(a, path, kind, "ok", f"{cited} in {path} ({n_lines} lines){why}")

    def _out_of_range(self, a: Anchor, path: str, fi: FileIndex | None, n_lines: int) -> Finding:
        if a.line < 1:
            message = "line numbers start at 1"
        elif (a.line_end or a.line) < a.line:
            message = f"the range {a.line}–{a.line_end} runs backwards"
        elif n_lines == 0:
            message = f"{path} is empty; there is no line {a.line}"
        else:
            message = f"line {max(a.line, a.line_end or 0)} is past the end of {path} ({n_lines} lines)"
        suggestion = None
        if fi is not None and a.label_kind == "symbol" and a.label:
            found = self._matches(fi, a.label)
            if found:
                suggestion = rewrite(a, line=found[0].line)
                message += f"; {found[0].qualname} is defined at line {found[0].line}"
        return _finding(a, path, None, "line-out-of-range", message, suggestion)

    def _missing(self, a: Anchor, rel: str) -> Finding:
        name = rel.rsplit("/", 1)[-1]
        suggestion, hint = None, ""
        if a.label_kind == "symbol" and a.label:
            hits = self.index.find_symbol(a.label)
            if len(hits) == 1:
                suggestion = rewrite(a, path=hits[0][0], line=hits[0][1].line)
                hint = f"; {a.label} is defined at {hits[0][0]}:{hits[0][1].line}"
        if suggestion is None:
            same = self.index.by_basename(name)
            if len(same) == 1:
                suggestion, hint = rewrite(a, path=same[0]), f"; a file {name} exists at {same[0]}"
        return _finding(a, None, None, "missing-file", f"{rel} is not in the upstream tree{hint}", suggestion)

    def _ambiguous(self, a: Anchor, rel: str, candidates: list[str]) -> Finding:
        shown = candidates[:5]
        more = f" (+{len(candidates) - 5} more)" if len(candidates) > 5 else ""
        listed = ", ".join(shown) + more
        message = f"{rel} matches {len(candidates)} files in the tree; write the full path: {listed}"
        suggestion = " or ".join(rewrite(a, path=p) for p in shown) + more
        return _finding(a, None, None, "ambiguous-path", message, suggestion)

    def _escaping(self, a: Anchor) -> Finding:
        message = f"{a.path} leads outside the upstream tree (through a symbolic link)"
        return _finding(a, None, None, "missing-file", message)

    # -- helpers that touch the tree --------------------------------------------------------

    def _matches(self, fi: FileIndex, label: str) -> list[Symbol]:
        if fi.path not in self._names:
            self._names[fi.path] = name_table(fi)
        return matches(fi, self._names[fi.path], symbol_parts(label))

    def _inside(self, rel: str) -> bool:
        """The file's real path stays under the tree's real root (no symlink out of it)."""
        if rel not in self._safe:
            folder, name = posixpath.split(rel)
            if folder not in self._real_dirs:
                self._real_dirs[folder] = os.path.realpath(os.path.join(self._real_root, folder))
            real = os.path.join(self._real_dirs[folder], name)
            if os.path.islink(real):
                real = os.path.realpath(real)
            self._safe[rel] = real.startswith(self._real_root + os.sep)
        return self._safe[rel]

    def _containing(self, path: str, a: Anchor) -> Symbol | None:
        fi = self.index.file(path) if path.endswith(".py") and self._inside(path) else None
        if fi is None or a.label is None:
            return None
        return innermost([s for s in self._matches(fi, a.label) if s.contains(a.line, a.line_end)])

    def _assigns(self, path: str, fi: FileIndex, parts: list[str], line: int) -> bool:
        """``Owner.attr`` / ``NAME`` where the line assigns the attribute inside Owner (or anywhere)."""
        if path not in self._lines:
            text = Path(self.index.root, path).read_text("utf-8", "replace") if self._inside(path) else ""
            self._lines[path] = text.split("\n")
        lines = self._lines[path]
        if not 1 <= line <= len(lines):
            return False
        pattern = rf"\s*(?:self\.)?{re.escape(parts[-1])}\s*(?::|=(?!=))"
        if not re.match(pattern, lines[line - 1]):
            return False
        owner = parts[:-1]
        return not owner or any(ends_with(s.qualname, owner) for s in symbols_containing(fi, line))


def _finding(
    a: Anchor, path: str | None, kind: AnchorKind | None, status: Status, message: str,
    suggestion: str | None = None,
) -> Finding:
    return Finding(a, path, a.line, a.line_end, kind, status, message, suggestion)


def _dir_matches(directory: str, near: str) -> bool:
    return directory == near or directory.endswith("/" + near)


def _shared_dirs(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1]):
        if x != y:
            break
        n += 1
    return n
