"""Where did the job of a vanished definition go? Candidates, the evidence for each, one score.

A qualified name that is gone from the new tree is looked for the way a maintainer would:

* an alias or re-export binds the old name to a new one (``Old = New``, ``import New as Old``);
* the enclosing class survives (or has a successor) and holds a new member doing the job;
* the same name is defined in another file or class; a similar name (edit distance, shared
  name tokens) is defined nearby or anywhere;
* the candidate's body uses the same identifiers, calls, string literals and docstring;
* the files that used the old name in the old tree use the candidate's name in the new one.

Each piece is recorded as a short phrase; the pieces are combined by :func:`noisy_or` with fixed
weights (set by hand, from what each piece alone may prove), and the re-anchoring bar was chosen
by sweeping it on ``bench/successors_truth.toml`` (``bench/successors.py --min-confidence X``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from difflib import SequenceMatcher

from annotator.rebase.evidence import (
    WEIGHTS,
    Body,
    Candidate,
    Verdict,
    body_of,
    common_tail,
    jaccard,
    kind_kept,
    leaf,
    name_similarity,
    noisy_or,
    package_of,
    parent,
    related,
)
from annotator.rebase.names import NameTable, same_side
from annotator.rebase.tree import TreeView
from annotator.records import Symbol

# Re-anchor from this score on. On bench/successors_truth.toml (31 vanished, 7 removed symbols):
# 0.5 → 17 right, 4 wrong; 0.55 → 17 right, 1 wrong; 0.6 → 15 right, 0 wrong; 0.7 → 12, 0 wrong.
MIN_CONFIDENCE = 0.6
REMOVED_BELOW = 0.35  # nothing scores this high: no definition does the job
UNUSED_REMOVED_BELOW = 0.5  # below this, and the old name used nowhere any more: removed
AMBIGUOUS_MARGIN = 0.04  # two candidates this close are not told apart: ask a person
MAX_NAMESAKES = 25  # files defining the same (or a similar) name that are looked at
MAX_SIMILAR_NAMES = 12
MAX_CALLERS = 40
N_CANDIDATES = 5
SHIM_LINES = 25  # a forwarding wrapper is this short (def line to last line)
SPLIT_PIECE = 0.3  # each piece of a split uses at least this share of the old body's identifiers
SPLIT_UNION = 0.7  # and all of them together at least this share
STALE_FACTOR = 0.6  # a definition that was already there takes over a job only on strong evidence

class SuccessorFinder:
    """Scores new-tree definitions as successors of vanished old ones (one instance per step).

    ``locate_class`` answers where an old class lives now (its qualified name and file), so a
    vanished method can be looked for among the members of its class's successor.
    """

    def __init__(
        self, old: TreeView, new: TreeView, old_names: NameTable, new_names: NameTable,
        locate_class: Callable[[str, Symbol], tuple[str, Symbol] | None],
    ) -> None:
        self.old, self.new = old, new
        self.old_names, self.new_names = old_names, new_names
        self.locate_class = locate_class
        self._bodies: dict[tuple[str, Symbol], Body] = {}

    def find(self, path: str, sym: Symbol, min_confidence: float = MIN_CONFIDENCE) -> Verdict:
        """The verdict for ``sym`` of old file ``path``, whose qualified name the new tree lacks."""
        ranked = self.rank(path, sym)
        top = ranked[0] if ranked else None
        shown = tuple(ranked[:N_CANDIDATES])
        split = self._split(path, sym, ranked)
        if split is not None and split.best is not None and split.best.score >= min_confidence:
            return split
        if top is None or top.score < UNUSED_REMOVED_BELOW:
            if not self.new_names.mentions(leaf(sym.qualname), under=package_of(path)):
                return Verdict("removed", None, (), shown, f"nothing in the new tree uses the name {leaf(sym.qualname)}")
        if top is None or top.score < REMOVED_BELOW:
            return Verdict("missing", None, (), shown, "no definition does the same job")
        if top.score < min_confidence:
            return Verdict("missing", None, (), shown, f"best guess scores {top.score:.2f} < {min_confidence:.2f}")
        rivals = [c for c in ranked[1:] if c.score >= top.score - AMBIGUOUS_MARGIN and not related(c, top)]
        if rivals:
            return Verdict("missing", None, (), shown, f"{top.symbol.qualname} and {rivals[0].symbol.qualname} fit equally")
        if not top.fresh:
            return Verdict("merged", top, (), shown)
        how = "renamed" if top.symbol.qualname != sym.qualname else "moved-file"
        return Verdict(how, top, (), shown)

    def _split(self, path: str, sym: Symbol, ranked: list[Candidate]) -> Verdict | None:
        """New definitions beside the old one that each take part of its body and together most.

        The pieces must be new, in the old file's folder (or below it), and not nested in one
        another; the verdict's score is that of their union as one body.
        """
        folder = path.rpartition("/")[0] + "/"
        pieces: list[Candidate] = []
        for c in ranked[:8]:
            if c.fresh and c.coverage >= SPLIT_PIECE and c.path.startswith(folder) and not any(related(c, o) for o in pieces):
                pieces.append(c)
        if len(pieces) < 2 or not (old_words := self._body(self.old, path, sym).words):
            return None
        union = frozenset().union(*(c.covered for c in pieces))
        coverage = len(union) / len(old_words)
        if coverage < SPLIT_UNION or coverage < max(c.coverage for c in pieces) + 0.2:
            return None
        score = noisy_or({"body": coverage * coverage, "place": 0.5 if pieces[0].path == path else 0.25})
        primary = max(pieces, key=lambda c: (c.coverage, c.score))
        whole = f"{len(pieces)} new definitions cover {coverage:.0%} of its identifiers together"
        best = Candidate(primary.path, primary.symbol, score, (whole, *primary.evidence), True, primary.coverage, primary.covered)
        return Verdict("split", best, tuple(c for c in pieces if c is not primary), tuple(ranked[:N_CANDIDATES]))

    def rank(self, path: str, sym: Symbol) -> list[Candidate]:
        """Every candidate found for ``sym``, best first."""
        found: dict[tuple[str, Symbol], list[str]] = {}
        home = self._class_home(path, sym)
        for p, s, why in self._gather(path, sym, home):
            if kind_kept(sym, s):
                found.setdefault((p, s), []).append(why)
        old_body = self._body(self.old, path, sym)
        callers = self._callers(path, sym)
        home_dir = home[0].rpartition("/")[0] + "/" if home and home[0] != path else None
        scored = [self._score(path, sym, old_body, callers, p, s, why, home_dir)
                  for (p, s), why in found.items() if same_side(path, p)]
        return sorted(self._through_shims(scored), key=lambda c: (-c.score, c.path, c.symbol.line))

    def _through_shims(self, scored: list[Candidate]) -> list[Candidate]:
        """A short definition that only calls another candidate forwards its callers to it.

        Call sites often switch to a thin wrapper (``fused_moe_make_expert_params_mapping``)
        whose one statement calls the real new home: the callers' evidence belongs to the home.
        """
        by_name = {}
        for c in scored:
            by_name.setdefault(leaf(c.symbol.qualname), []).append(c)
        out = {id(c): c for c in scored}
        for shim in scored:
            if shim.reach == 0 or shim.symbol.end - shim.symbol.line > SHIM_LINES:
                continue
            for name in self._body(self.new, shim.path, shim.symbol).calls:
                for home in by_name.get(name, ()):
                    if home is shim or home.coverage < 0.6:
                        continue
                    boosted = 1 - (1 - out[id(home)].score) * (1 - WEIGHTS["callers"] * shim.reach)
                    why = f"{shim.symbol.qualname} forwards to it"
                    out[id(home)] = replace(out[id(home)], score=boosted, evidence=(*out[id(home)].evidence, why))
                    out[id(shim)] = replace(out[id(shim)], score=out[id(shim)].score * 0.5,
                                        evidence=(*shim.evidence, f"only forwards to {home.symbol.qualname}"))
        return list(out.values())

    # -- candidates ---------------------------------------------------------------------------

    def _gather(self, path: str, sym: Symbol, home: tuple[str, Symbol] | None):
        name = leaf(sym.qualname)
        for alias in self.new_names.aliases(name):
            if self._binds(alias, path, sym, home):
                for p, s in self._defined(leaf(alias.target)):
                    yield p, s, f"alias: {alias.path}:{alias.line} binds {name} to {alias.target}"
        if home is not None:
            hp, hs = home
            for s in self._file_symbols(self.new, hp):
                if parent(s.qualname) == hs.qualname:
                    yield hp, s, f"member of {hs.qualname}"
        for p, s in self._defined(name):
            yield p, s, "same name"
        for other in self._similar_names(name):
            for p, s in self._defined(other):
                yield p, s, "similar name"
        for p in self._near_files(path):
            for s in self._file_symbols(self.new, p):
                if p == path or self._fresh(p, s):
                    yield p, s, "same file" if p == path else "new definition nearby"

    def _binds(self, alias, path: str, sym: Symbol, home: tuple[str, Symbol] | None) -> bool:
        """An alias speaks for the old name only where that name lived: at module level in the
        old package (a re-export or shim) for a top-level name, inside the class's new home for a
        member."""
        if parent(sym.qualname):
            return alias.nested and home is not None and alias.path == home[0]
        return not alias.nested and alias.path.startswith(package_of(path))

    def _defined(self, name: str) -> list[tuple[str, Symbol]]:
        files = self.new_names.definers(name)[: MAX_NAMESAKES * 4]
        return [(p, s) for p in files for s in self._file_symbols(self.new, p) if leaf(s.qualname) == name][:MAX_NAMESAKES]

    def _class_home(self, path: str, sym: Symbol) -> tuple[str, Symbol] | None:
        """Where the vanished method's class lives now (itself, or its successor)."""
        cls_name = parent(sym.qualname)
        fi = self.old.file(path)
        cls = next((s for s in fi.symbols if s.qualname == cls_name and s.kind == "class"), None) if fi else None
        return self.locate_class(path, cls) if cls is not None else None

    def _similar_names(self, name: str) -> list[str]:
        scored = []
        mine, m = self.new_names.token_set(name), SequenceMatcher(None, "", name.lower(), autojunk=False)
        for other in self.new_names.sharing_tokens(name):
            theirs = self.new_names.token_set(other)
            jaccard = len(mine & theirs) / len(mine | theirs)
            if other == name:
                continue
            if jaccard < 0.5:
                m.set_seq1(other.lower())  # the old name stays the second sequence: its table is built once
                if m.real_quick_ratio() < 0.5 or m.quick_ratio() < 0.5:
                    continue
                jaccard = max(jaccard, m.ratio())
            if jaccard >= 0.5:
                scored.append((jaccard, other))
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [n for _, n in scored[:MAX_SIMILAR_NAMES]]

    def _near_files(self, path: str) -> list[str]:
        base = path.rpartition("/")[2]
        near = [path, *self.new.same_basename(path)[:5]]
        siblings = sorted(self.new.neighbours(path), key=lambda p: -SequenceMatcher(None, base, p.rpartition("/")[2]).ratio())
        return [p for p in dict.fromkeys(near + siblings[:15]) if self.new.has(p)]

    def _file_symbols(self, view: TreeView, path: str) -> tuple[Symbol, ...]:
        fi = view.file(path)
        return fi.symbols if fi else ()

    def _fresh(self, path: str, s: Symbol) -> bool:
        return all(o.qualname != s.qualname for o in self._file_symbols(self.old, path))

    # -- evidence and score -------------------------------------------------------------------

    def _callers(self, path: str, sym: Symbol) -> list[str]:
        """Files of the old package that used the old name (its definition's file aside)."""
        return [p for p in self.old_names.mentions(leaf(sym.qualname), under=package_of(path)) if p != path][:MAX_CALLERS]

    def _newly_used(self, name: str, callers: list[str]) -> int:
        """Callers of the old name that mention ``name`` now and did not before: the call moved."""
        raw = name.encode("ascii", "replace")
        word = re.compile(rb"(?<!\w)" + re.escape(raw) + rb"(?!\w)")
        old, new = self.old_names.sources, self.new_names.sources

        def uses(data: bytes) -> bool:
            return raw in data and word.search(data) is not None

        return sum(1 for f in callers if uses(new.get(f, b"")) and not uses(old.get(f, b"")))

    def _body(self, view: TreeView, path: str, s: Symbol) -> Body:
        key = (view.version + ":" + path, s)
        if key not in self._bodies:
            self._bodies[key] = body_of("\n".join(view.symbol_lines(path, s)), leaf(s.qualname), s.summary)
        return self._bodies[key]

    def _score(self, path, sym, old_body, callers, p, s, why, home_dir=None) -> Candidate:
        new_body = self._body(self.new, p, s)
        evidence = list(dict.fromkeys(why))
        name = min(name_similarity(leaf(sym.qualname), leaf(s.qualname)), 0.9 if leaf(s.qualname) != leaf(sym.qualname) else 1.0)
        parts = [(j, w) for j, w in ((jaccard(old_body.words, new_body.words), 0.5),
                                     (jaccard(old_body.calls, new_body.calls), 0.3),
                                     (jaccard(old_body.strings, new_body.strings), 0.2)) if j is not None]
        body = sum(j * w for j, w in parts) / sum(w for _, w in parts) if parts else 0.0
        if old_body.doc and new_body.doc:
            doc = SequenceMatcher(None, old_body.doc, new_body.doc).ratio()
            body = 0.8 * body + 0.2 * doc
            if doc > 0.6:
                evidence.append(f"docstring {doc:.2f} alike")
        covered = old_body.words & new_body.words
        coverage = len(covered) / len(old_body.words) if old_body.words else 0.0
        evidence.append(f"body {body:.2f} alike ({coverage:.0%} of its identifiers)")
        place = self._place(path, sym, p, s, why)
        near_home = home_dir is not None and p.startswith(home_dir)
        if near_home and place < 0.75:
            place = 0.75
            evidence.append("beside its class's new home")
        reach = 0.0
        if leaf(s.qualname) != leaf(sym.qualname) and callers:
            used = self._newly_used(leaf(s.qualname), callers)
            reach = used / len(callers)
            if used:
                evidence.append(f"newly used in {used}/{len(callers)} files that used the old name")
        alias = 1.0 if any(w.startswith("alias") for w in why) else 0.0
        score = noisy_or({"alias": alias, "body": body * body, "name": name * name if name < 1 else 0.83,
                          "place": place, "callers": reach})
        fresh = self._fresh(p, s)
        if not fresh:  # a look-alike that coexisted with the old one takes over only with its callers
            replaced = not self.new.has(path)  # or when the old file is gone: a parallel version took over
            score *= STALE_FACTOR if reach == 0 and not near_home and not replaced else 0.9
            evidence.append("already there before" + ("; the old file is gone" if replaced else ""))
        return Candidate(p, s, min(score, 1.0), tuple(evidence), fresh, coverage, covered, reach)

    def _place(self, path: str, sym: Symbol, p: str, s: Symbol, why: list[str]) -> float:
        """1 inside the class's successor, then same class name, same file, same folder, elsewhere."""
        if any(w.startswith("member of") for w in why):
            return 1.0
        if parent(s.qualname) and parent(s.qualname) == parent(sym.qualname):
            return 0.75
        if p == path:
            return 0.5
        tail = common_tail(p, path)
        if tail >= 2:
            return min(0.75, 0.25 * tail)
        return 0.25 if p.rpartition("/")[0] == path.rpartition("/")[0] else 0.0
