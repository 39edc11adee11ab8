"""Map one anchor from the pinned tree to the target tree: its path, its line(s), and what changed.

A symbol anchor follows its definition (:mod:`annotator.rebase.symbols`), then its line moves
inside the definition: the ``def``/``class`` line maps to the new one, and the lines before it
(decorators) and after it (docstring, body) are aligned separately, so a decorator or body line
can never land on the new def line by accident. A prose anchor (or one without a label) follows
a whole-file alignment; when its line was edited, the enclosing definition places it instead.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from annotator.rebase.align import Alignment, align, normalise
from annotator.rebase.rebased import Location, Rebased, RebaseStatus, Span
from annotator.rebase.symbols import (
    SymbolLocator,
    SymbolMatch,
    cited_symbol,
    enclosing_symbol,
    label_parts,
    same_code,
)
from annotator.rebase.tree import TreeView
from annotator.records import Anchor, Finding, Symbol

PLACED_CONFIDENCE = 0.5  # a line placed by its neighbours is a guess, and is reported as one
MOVED_FILE_THRESHOLD = 0.5  # a same-named file elsewhere must be at least this alike
CONTEXT = 2  # lines of context around a prose anchor's lines in the reviewer's diff
# Verify statuses whose cited path and line exist in the pinned tree, so there is a line to follow.
MAPPABLE = ("ok", "wrong-line", "unknown-symbol", "wrong-file")


class Mapper:
    """Maps findings of the pinned tree to the target tree; one instance per rebase (it caches)."""

    def __init__(self, old: TreeView, new: TreeView, locator: SymbolLocator | None = None) -> None:
        self.old = old
        self.new = new
        self.symbols = locator or SymbolLocator(old, new)
        self._alignments: dict[tuple, Alignment] = {}
        self._changes: dict[tuple, bool] = {}

    def map(self, finding: Finding) -> Rebased:
        """The rebase record of one anchor, given its resolution in the pinned tree."""
        a = finding.anchor
        old = Location(finding.path or a.path, a.line, a.line_end, a.label)
        if finding.status not in MAPPABLE or finding.path is None:
            why = f"broken in the pinned tree ({finding.status}): {finding.message}"
            return Rebased(a, old, None, "missing", False, 0.0, why)
        if a.label_kind == "symbol" and a.label:
            fi = self.old.file(old.path)
            sym = cited_symbol(fi, a.label, a.line, a.line_end) if fi else None
            if sym is not None:
                return self._map_symbol(a, old, sym)
        return self._map_prose(a, old)

    # -- symbol anchors ---------------------------------------------------------------------

    def _map_symbol(self, a: Anchor, old: Location, sym: Symbol) -> Rebased:
        m = self.symbols.locate(old.path, sym)
        old_span = Span(old.path, sym.start, sym.end)
        if m.symbol is None or m.path is None:
            why = f"{sym.qualname} is not in {self.new.version or 'the target tree'}"
            status_gone: RebaseStatus = "removed" if m.how == "removed" else "missing"
            why += f" ({m.note})" if m.note else ""
            return Rebased(a, old, None, status_gone, False, 0.0, why, m.candidates, old_span)
        first, ok_first = self.in_symbol(old.path, sym, m.path, m.symbol, old.line)
        last, ok_last = self._end(old, sym, m, first)
        relabel = m.symbol.qualname != sym.qualname
        label = _relabel(old.label, m.symbol.qualname) if relabel else old.label
        new = Location(m.path, first, last, label)
        status: RebaseStatus = m.how if m.how in ("renamed", "split", "merged") else _status(old, new)  # type: ignore[assignment]
        exact = ok_first and ok_last
        changed = self._changed(old.path, sym, m.path, m.symbol)
        message = _symbol_message(sym, m, exact)
        confidence = m.confidence * (1.0 if exact else PLACED_CONFIDENCE)
        new_span = Span(m.path, m.symbol.start, m.symbol.end)
        successor = m.symbol.qualname if relabel else None
        listed = m.candidates if m.how == "split" else ()
        return Rebased(a, old, new, status, changed, confidence, message, listed, old_span, new_span,
                       successor, m.evidence)

    def _changed(self, path: str, sym: Symbol, new_path: str, nsym: Symbol) -> bool:
        """True when the definition changed beyond whitespace (and beyond its own name)."""
        key = (path, sym, new_path, nsym)
        if key not in self._changes:
            a, b = self.old.symbol_lines(path, sym), self.new.symbol_lines(new_path, nsym)
            self._changes[key] = not same_code(a, b, _leaf(sym), _leaf(nsym))
        return self._changes[key]

    def _end(self, old: Location, sym: Symbol, m: SymbolMatch, first: int) -> tuple[int | None, bool]:
        if old.line_end is None:
            return None, True
        assert m.path is not None and m.symbol is not None
        last, ok = self.in_symbol(old.path, sym, m.path, m.symbol, old.line_end)
        return max(last, first), ok

    def in_symbol(self, path: str, sym: Symbol, new_path: str, nsym: Symbol, line: int) -> tuple[int, bool]:
        """New line for ``line`` of ``sym``; False when placed by neighbours rather than found."""
        if line == sym.line:
            return nsym.line, True
        if line < sym.line:  # decorators
            o, n = (sym.start, sym.line - 1), (nsym.start, nsym.line - 1)
        else:  # docstring and body
            o, n = (sym.line + 1, sym.end), (nsym.line + 1, nsym.end)
        p = self._align(path, o, new_path, n)[line - o[0]]
        if p.index is None:  # that side of the def line is empty now: say so, do not pretend
            return nsym.line, False
        return n[0] + p.index, p.exact

    def _align(self, path: str, o: tuple[int, int], new_path: str, n: tuple[int, int]) -> Alignment:
        key = (path, o, new_path, n)
        if key not in self._alignments:
            self._alignments[key] = align(self.old.span(path, *o), self.new.span(new_path, *n))
        return self._alignments[key]

    # -- prose anchors ----------------------------------------------------------------------

    def _map_prose(self, a: Anchor, old: Location) -> Rebased:
        start = self._prose_line(old.path, old.line)
        end = self._prose_line(old.path, old.line_end) if old.line_end else None
        old_span = Span(old.path, max(1, old.line - CONTEXT), (old.line_end or old.line) + CONTEXT)
        if start is None or (old.line_end and end is None):
            why = f"{old.path} is not in {self.new.version or 'the target tree'}"
            cands = tuple(self.new.same_basename(old.path))[:3]
            return Rebased(a, old, None, "missing", False, 0.0, why, cands, old_span)
        new_path, first, exact, how = start
        last = None
        if end is not None:
            if end[0] != new_path:
                return Rebased(a, old, None, "missing", False, 0.0, "the cited range split across files", (), old_span)
            last, exact = max(end[1], first), exact and end[2]
        new = Location(new_path, first, last, old.label)
        before = self.old.span(old.path, old.line, old.line_end or old.line)
        after = self.new.span(new_path, first, last or first)
        changed = not exact or [normalise(x) for x in before] != [normalise(x) for x in after]
        message = "" if exact else f"the cited line(s) were edited; placed by {how}"
        new_span = Span(new_path, max(1, first - CONTEXT), (last or first) + CONTEXT)
        confidence = 1.0 if exact else PLACED_CONFIDENCE
        return Rebased(a, old, new, _status(old, new), changed, confidence, message, (), old_span, new_span)

    def _prose_line(self, path: str, line: int) -> tuple[str, int, bool, str] | None:
        """(new path, new line, found exactly, placed by what) for one line of a file."""
        new_path = path if self.new.has(path) else self._moved_file(path)
        placed = None
        if new_path is not None:
            p = self._align_file(path, new_path)[line - 1]
            if p.index is not None:
                placed = (new_path, p.index + 1, p.exact, "its neighbours")
                if p.exact:
                    return placed
        fi = self.old.file(path)
        sym = enclosing_symbol(fi, line) if fi else None
        if sym is not None:
            m = self.symbols.locate(path, sym)
            if m.symbol is not None and m.path is not None:
                new_line, exact = self.in_symbol(path, sym, m.path, m.symbol, line)
                return m.path, new_line, exact, f"its enclosing {sym.qualname}"
        return placed

    def _align_file(self, path: str, new_path: str) -> Alignment:
        key = (path, None, new_path, None)
        if key not in self._alignments:
            self._alignments[key] = align(self.old.lines(path), self.new.lines(new_path))
        return self._alignments[key]

    def _moved_file(self, path: str) -> str | None:
        """A file of the same name elsewhere whose text is still mostly the old file's."""
        old_lines = [normalise(x) for x in self.old.lines(path)]
        best, best_score = None, MOVED_FILE_THRESHOLD
        for cand in self.new.same_basename(path):
            matcher = SequenceMatcher(None, old_lines, [normalise(x) for x in self.new.lines(cand)], autojunk=False)
            if matcher.quick_ratio() >= best_score and (score := matcher.ratio()) >= best_score:
                best, best_score = cand, score
        return best


def _status(old: Location, new: Location) -> RebaseStatus:
    if new.path != old.path:
        return "moved-file"
    if (new.line, new.line_end) == (old.line, old.line_end):
        return "unchanged"
    return "moved"


def _leaf(sym: Symbol) -> str:
    return sym.qualname.rpartition(".")[2]


def _relabel(label: str | None, qualname: str) -> str | None:
    """The label a renamed definition would carry, with as many dotted parts as the old one."""
    if label is None:
        return None
    parts = label_parts(label)
    new = ".".join(qualname.split(".")[-len(parts) :])
    return new + "()" if label.strip().endswith("()") else new


def _symbol_message(sym: Symbol, m: SymbolMatch, exact: bool) -> str:
    notes = []
    if m.how in ("renamed", "split", "merged") and m.symbol is not None:
        verb = {"renamed": "renamed to", "split": "split; its main piece is", "merged": "merged into"}[m.how]
        notes.append(f"{sym.qualname} {verb} {m.symbol.qualname}")
    elif m.how == "moved-file":
        notes.append(f"{sym.qualname} moved to {m.path}")
    if not exact:
        notes.append("the cited line was edited; placed by its neighbours")
    return "; ".join(notes)
