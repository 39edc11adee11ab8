"""Where did a definition go? The evidence chain for symbol anchors, strongest evidence first.

1. the same qualified name in the same file (``same``);
2. the same qualified name in exactly one other file (``moved-file``); several files: the one
   whose body is most alike, if alike enough;
3. a definition that is new in the same or a sibling module, whose body (with the names taken
   out) is the most similar, above :data:`RENAME_THRESHOLD` (``renamed``, with that similarity
   as confidence);
4. otherwise ``missing``, listing the most similar definitions so a person can decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from annotator.rebase.align import normalise
from annotator.rebase.tree import TreeView
from annotator.records import FileIndex, Symbol

RENAME_THRESHOLD = 0.7  # on 0.22.1 → 0.23.0, real renames score ≥ 0.72; a false one scored 0.63
MAX_NEIGHBOURS = 40  # sibling modules searched for a rename; big packages are capped by name
MAX_NAMESAKES = 10  # same-named files elsewhere (``utils.py`` is everywhere), nearest first
N_CANDIDATES = 3
_SHORT = 12  # definitions this short (in non-blank lines) are compared character by character

MatchHow = Literal["same", "moved-file", "renamed", "missing"]


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    """The new home of one old definition, or the best guesses when there is none."""

    path: str | None
    symbol: Symbol | None
    how: MatchHow
    confidence: float
    candidates: tuple[str, ...] = ()


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


def _short(qualname: str) -> str:
    return qualname.rpartition(".")[2]


def _compatible(a: Symbol, b: Symbol) -> bool:
    return (a.kind == "class") == (b.kind == "class")


class SymbolLocator:
    """Runs the evidence chain between two trees, remembering answers (anchors repeat symbols)."""

    def __init__(self, old: TreeView, new: TreeView) -> None:
        self.old = old
        self.new = new
        self._memo: dict[tuple[str, Symbol], SymbolMatch] = {}

    def locate(self, path: str, sym: Symbol) -> SymbolMatch:
        """Where the definition ``sym`` of old file ``path`` lives in the new tree."""
        key = (path, sym)
        if key not in self._memo:
            self._memo[key] = self._locate(path, sym)
        return self._memo[key]

    def _locate(self, path: str, sym: Symbol) -> SymbolMatch:
        body = self.old.symbol_lines(path, sym)
        same = self._named(path, sym.qualname)
        if same:
            best, _ = self._best(body, sym, [(path, s) for s in same])
            return SymbolMatch(path, best, "same", 1.0)
        elsewhere = [
            (p, s)
            for p in self.new.definers(_short(sym.qualname))
            if p != path
            for s in self._named(p, sym.qualname)
        ]
        if len({p for p, _ in elsewhere}) == 1:
            (p, s), _ = self._best_pair(body, sym, elsewhere)
            return SymbolMatch(p, s, "moved-file", 1.0)
        if elsewhere:
            (p, s), score = self._best_pair(body, sym, elsewhere)
            if score >= RENAME_THRESHOLD:
                return SymbolMatch(p, s, "moved-file", score)
            return SymbolMatch(None, None, "missing", 0.0, self._describe(body, sym, elsewhere))
        return self._renamed(path, sym, body)

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
        return similarity(body, lines, _short(sym.qualname), _short(cand.qualname))

    def _renamed(self, path: str, sym: Symbol, body: list[str]) -> SymbolMatch:
        """Step 3: the most similar definition that did not exist before, nearby."""
        scored = self._scored(body, sym, self._scope(path))
        fresh = [t for t in scored if t[3]]
        if fresh and fresh[0][0] >= RENAME_THRESHOLD:
            score, p, s, _ = fresh[0]
            return SymbolMatch(p, s, "renamed", score)
        same_name = self._same_leaf(body, sym)
        nearby = [_fmt(p, s, score) for score, p, s, _ in scored[:N_CANDIDATES]]
        described = tuple(dict.fromkeys(same_name + nearby))
        return SymbolMatch(None, None, "missing", 0.0, described)

    def _same_leaf(self, body: list[str], sym: Symbol) -> list[str]:
        """Definitions anywhere with the same last name (e.g. a method moved to another class)."""
        leaf = _short(sym.qualname)
        pairs = [
            (p, s)
            for p in self.new.definers(leaf)
            for s in (self.new.file(p).symbols if self.new.file(p) else ())
            if _short(s.qualname) == leaf and _compatible(sym, s)
        ]
        return list(self._describe(body, sym, pairs))

    def _scope(self, path: str) -> list[str]:
        """The same file, then same-named files elsewhere, then sibling modules (both capped)."""
        base = path.rpartition("/")[2]
        namesakes = sorted(
            self.new.same_basename(path),
            key=lambda p: -SequenceMatcher(None, path, p).ratio(),
        )[:MAX_NAMESAKES]
        siblings = sorted(
            self.new.neighbours(path),
            key=lambda p: -SequenceMatcher(None, base, p.rpartition("/")[2]).ratio(),
        )[:MAX_NEIGHBOURS]
        ordered = [path, *namesakes, *siblings]
        return [p for i, p in enumerate(ordered) if p not in ordered[:i] and self.new.has(p)]

    def _scored(self, body: list[str], sym: Symbol, scope: Iterable[str]):
        """(similarity, path, symbol, is_new) for compatible definitions, best first."""
        a = comparable(body, _short(sym.qualname))
        out = []
        for p in scope:
            fi = self.new.file(p)
            if fi is None:
                continue
            before = self.old.file(p)
            old_names = {s.qualname for s in before.symbols} if before else set()
            for cand in fi.symbols:
                if not _compatible(sym, cand):
                    continue
                b = comparable(self.new.symbol_lines(p, cand), _short(cand.qualname))
                m = _matcher(a, b)
                if m.real_quick_ratio() < 0.3 or m.quick_ratio() < 0.3:
                    continue
                out.append((m.ratio(), p, cand, cand.qualname not in old_names))
        out.sort(key=lambda t: (-t[0], t[1], t[2].line))
        return out

    def _describe(self, body, sym, pairs) -> tuple[str, ...]:
        scored = sorted(((self._score(body, sym, p, s), p, s) for p, s in pairs), key=lambda t: -t[0])
        return tuple(_fmt(p, s, score) for score, p, s in scored[:N_CANDIDATES])


def _fmt(path: str, sym: Symbol, score: float) -> str:
    return f"{path}:{sym.line} — {sym.qualname} ({score:.2f})"
