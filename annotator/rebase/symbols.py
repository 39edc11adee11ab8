"""Where did a definition go? The evidence chain for symbol anchors, strongest evidence first.

1. the same qualified name in the same file (``same``);
2. the same qualified name in exactly one other file (``moved-file``); several files: the one
   whose body is most alike, if alike enough;
3. otherwise the name is gone: :mod:`annotator.rebase.successors` weighs aliases, the class's
   own successor, same and similar names, body likeness and callers into one score, and decides
   ``renamed``/``moved-file``/``split``/``merged`` above the confidence threshold, ``removed``
   when nothing scores and the name is no longer used, else ``missing`` with ranked candidates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from annotator.rebase.align import normalise
from annotator.rebase.evidence import kind_kept, leaf
from annotator.rebase.names import NameTable, same_side
from annotator.rebase.successors import MIN_CONFIDENCE, SuccessorFinder, Verdict
from annotator.rebase.tree import TreeView
from annotator.records import FileIndex, Symbol

RENAME_THRESHOLD = 0.7  # on 0.22.1 → 0.23.0, real renames score ≥ 0.72; a false one scored 0.63
_SHORT = 12  # definitions this short (in non-blank lines) are compared character by character

MatchHow = Literal["same", "moved-file", "renamed", "split", "merged", "missing", "removed"]


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    """The new home of one old definition, or the best guesses when there is none."""

    path: str | None
    symbol: Symbol | None
    how: MatchHow
    confidence: float
    candidates: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    note: str = ""


def label_parts(label: str) -> list[str]:
    """``"BlockPool.get_new_blocks()"`` → ``["BlockPool", "get_new_blocks"]``."""
    return label.strip().removesuffix("()").split(".")


def cited_symbol(fi: FileIndex, label: str, first: int, last: int | None) -> Symbol | None:
    """The innermost definition named by ``label`` whose span holds the cited line(s).

    As in verify, a label may start with the tail of the module's dotted name
    (``block_pool.BlockPool.get_new_blocks``); those leading parts are dropped.
    """
    parts = label_parts(label)
    module = fi.module.split(".")
    tails = [parts] + [parts[k:] for k in range(len(parts) - 1, 0, -1) if module[-k:] == parts[:k]]
    for tail in tails:
        hits = [
            s
            for s in fi.symbols
            if s.qualname.split(".")[-len(tail) :] == tail and s.contains(first, last)
        ]
        if hits:
            return max(hits, key=lambda s: (s.start, -s.end))
    return None


def enclosing_symbol(fi: FileIndex, line: int) -> Symbol | None:
    """The innermost definition whose span holds ``line`` (None at module level)."""
    hits = [s for s in fi.symbols if s.start <= line <= s.end]
    return max(hits, key=lambda s: (s.start, -s.end), default=None)


def similarity(old: Sequence[str], new: Sequence[str], old_name: str, new_name: str) -> float:
    """How alike two definitions are (0..1), whitespace and their own names aside."""
    a, b = comparable(old, old_name), comparable(new, new_name)
    return _matcher(a, b).ratio()


def comparable(lines: Sequence[str], name: str) -> list[str]:
    """Non-blank lines, whitespace collapsed, the definition's own name blanked: what "changed" means."""
    text = re.sub(rf"\b{re.escape(name)}\b", "\0", "\n".join(lines))
    return [normalise(x) for x in text.split("\n") if x.strip()]


def same_code(old: Sequence[str], new: Sequence[str], old_name: str, new_name: str) -> bool:
    """True when two definitions differ only in whitespace (line breaks included) and their names."""
    if list(old) == list(new):
        return True

    def squeeze(lines: Sequence[str], name: str) -> str:
        return " ".join(re.sub(rf"\b{re.escape(name)}\b", "\0", "\n".join(lines)).split())

    return squeeze(old, old_name) == squeeze(new, new_name)


def _matcher(a: list[str], b: list[str]) -> SequenceMatcher:
    if max(len(a), len(b)) <= _SHORT:
        return SequenceMatcher(None, "\n".join(a), "\n".join(b), autojunk=False)
    return SequenceMatcher(None, a, b, autojunk=False)


class SymbolLocator:
    """Runs the evidence chain between two trees, remembering answers (anchors repeat symbols).

    ``names`` are the two trees' name tables when the caller already has them (a release chain
    shares each tree's table between its two steps); ``min_confidence`` is the re-anchoring bar.
    """

    def __init__(
        self, old: TreeView, new: TreeView, names: tuple[NameTable, NameTable] | None = None,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        self.old = old
        self.new = new
        self.names = names or (NameTable(old.root, old.index.paths), NameTable(new.root, new.index.paths))
        self.min_confidence = min_confidence
        self.finder = SuccessorFinder(old, new, *self.names, locate_class=self._class_home)
        self._memo: dict[tuple[str, Symbol], SymbolMatch] = {}

    def locate(self, path: str, sym: Symbol) -> SymbolMatch:
        """Where the definition ``sym`` of old file ``path`` lives in the new tree."""
        key = (path, sym)
        if key not in self._memo:
            self._memo[key] = self._locate(path, sym)
        return self._memo[key]

    def _class_home(self, path: str, cls: Symbol) -> tuple[str, Symbol] | None:
        m = self.locate(path, cls)
        return (m.path, m.symbol) if m.path is not None and m.symbol is not None else None

    def _locate(self, path: str, sym: Symbol) -> SymbolMatch:
        body = self.old.symbol_lines(path, sym)
        same = [s for s in self._named(path, sym.qualname) if kind_kept(sym, s)]
        if same:
            best, _ = self._best(body, sym, [(path, s) for s in same])
            return SymbolMatch(path, best, "same", 1.0)
        elsewhere = [
            (p, s)
            for p in self.names[1].definers(leaf(sym.qualname))
            if p != path and same_side(path, p)
            for s in self._named(p, sym.qualname)
            if kind_kept(sym, s)
        ]
        if len({p for p, _ in elsewhere}) == 1:
            (p, s), _ = self._best_pair(body, sym, elsewhere)
            return SymbolMatch(p, s, "moved-file", 1.0, evidence=(f"the same name {sym.qualname}, in one file only",))
        if elsewhere:
            (p, s), score = self._best_pair(body, sym, elsewhere)
            if score >= RENAME_THRESHOLD:
                return SymbolMatch(p, s, "moved-file", score, evidence=(f"the same name, body {score:.2f} alike",))
        return _from_verdict(self.finder.find(path, sym, self.min_confidence))

    def _named(self, path: str, qualname: str) -> list[Symbol]:
        fi = self.new.file(path)
        return [s for s in fi.symbols if s.qualname == qualname] if fi else []

    def _best(self, body: list[str], sym: Symbol, pairs: list[tuple[str, Symbol]]):
        (_, s), score = self._best_pair(body, sym, pairs)
        return s, score

    def _best_pair(self, body: list[str], sym: Symbol, pairs: list[tuple[str, Symbol]]):
        if len(pairs) == 1:
            return pairs[0], 1.0
        scored = [(self._score(body, sym, p, s), p, s) for p, s in pairs]
        score, p, s = max(scored, key=lambda t: (t[0], -abs(t[2].line - sym.line)))
        return (p, s), score

    def _score(self, body: list[str], sym: Symbol, path: str, cand: Symbol) -> float:
        lines = self.new.symbol_lines(path, cand)
        return similarity(body, lines, leaf(sym.qualname), leaf(cand.qualname))


def _from_verdict(v: Verdict) -> SymbolMatch:
    """The successor finder's verdict in the locator's terms."""
    cands = tuple(c.describe() for c in v.candidates)
    if v.best is None:
        return SymbolMatch(None, None, v.how, 0.0, cands, (), v.note)  # type: ignore[arg-type]
    others = tuple(c.describe() for c in v.others)
    evidence = v.best.evidence + tuple(f"also: {o}" for o in others)
    listed = others if v.how == "split" else cands
    return SymbolMatch(v.best.path, v.best.symbol, v.how, v.best.score, listed, evidence, v.note)  # type: ignore[arg-type]
