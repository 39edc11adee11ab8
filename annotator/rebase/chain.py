"""Walk the releases between the pin and the target, one step at a time, and compose the maps.

Between two releases far apart a renamed or split definition no longer looks like itself; between
two consecutive releases it usually does. So each anchor is mapped step by step (0.22.1 → 0.23.0
→ … → 0.34.0), and the release in which it was renamed, moved or vanished is recorded.

Only two trees are open at any time. A step whose cited file is byte-identical in both trees is
the identity and costs two file reads; every other step's answers are cached on disk, keyed by
the two trees' sdist hashes and by the code of the mapping itself, so a warm run opens no index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from annotator import atomic
from annotator.rebase.mapping import Mapper
from annotator.rebase.names import NameTable
from annotator.rebase.rebased import Location, Rebased, Span
from annotator.rebase.successors import MIN_CONFIDENCE
from annotator.rebase.symbols import SymbolLocator
from annotator.rebase.tree import TreeView
from annotator.records import Finding

_CHANGES = ("split", "merged", "renamed", "moved-file")  # what a step can do beyond moving lines
_GONE = ("missing", "removed")
_CODE = ("align", "chain", "evidence", "mapping", "names", "rebased", "successors", "symbols", "tree")


@dataclass(frozen=True, slots=True)
class Tree:
    """One release in the chain: its version, the sdist hash that identifies it, its directory."""

    version: str
    sha256: str
    root: Path


def code_digest(min_confidence: float) -> str:
    """A hash of the mapping's own code and settings: a changed algorithm never reuses old answers."""
    digest = hashlib.sha256(f"{min_confidence:.4f}".encode())
    here = Path(__file__).parent
    for name in _CODE:
        digest.update((here / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


class StepCache:
    """Answers of one step (old tree → new tree), on disk as one JSON file per step."""

    def __init__(self, cache_dir: Path | None, old: Tree, new: Tree, digest: str) -> None:
        name = f"{old.version}-{old.sha256[:12]}--{new.version}-{new.sha256[:12]}-{digest}.json"
        self.path = cache_dir / "rebase-steps" / name if cache_dir else None
        self.entries: dict[str, dict] = {}
        self.dirty = False
        if self.path is not None and self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text("utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def save(self) -> None:
        """Write the answers back when this run added any."""
        if self.dirty and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(self.path, json.dumps(self.entries, ensure_ascii=False).encode(), fsync=False)


def _key(f: Finding) -> str:
    a = f.anchor
    return json.dumps([f.status, f.path, a.path, a.line, a.line_end, a.label, a.label_kind,
                       "" if f.status == "ok" else f.message])


def _to_json(r: Rebased) -> dict:
    span = lambda s: [s.path, s.first, s.last] if s else None  # noqa: E731
    return {"old": r.old.to_json(), "new": r.new.to_json() if r.new else None, "status": r.status,
            "changed": r.body_changed, "confidence": r.confidence, "message": r.message,
            "candidates": list(r.candidates), "old_span": span(r.old_span), "new_span": span(r.new_span),
            "successor": r.successor, "evidence": list(r.evidence)}


def _from_json(d: dict, anchor) -> Rebased:
    loc = lambda x: Location(x["path"], x["line"], x["line_end"], x["label"]) if x else None  # noqa: E731
    span = lambda s: Span(*s) if s else None  # noqa: E731
    return Rebased(anchor, loc(d["old"]), loc(d["new"]), d["status"], d["changed"], d["confidence"],
                   d["message"], tuple(d["candidates"]), span(d["old_span"]), span(d["new_span"]),
                   d["successor"], tuple(d["evidence"]))


class _Views:
    """The two trees of the current step, opened only when a step has work the cache lacks."""

    def __init__(self, open_index: Callable[[Path], object]) -> None:
        self.open_index = open_index
        self._open: dict[str, tuple[TreeView, NameTable]] = {}

    def get(self, tree: Tree) -> tuple[TreeView, NameTable]:
        if tree.version not in self._open:
            index = self.open_index(tree.root)
            view = TreeView(index, tree.version)  # type: ignore[arg-type]
            self._open[tree.version] = (view, NameTable(tree.root, view.index.paths))
        return self._open[tree.version]

    def keep_only(self, tree: Tree) -> None:
        """Forget every tree but ``tree``: at most two are ever held."""
        self._open = {v: x for v, x in self._open.items() if v == tree.version}


def walk(
    findings: Sequence[Finding], trees: Sequence[Tree], open_index: Callable[[Path], object], *,
    cache_dir: Path | None, min_confidence: float = MIN_CONFIDENCE,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[Rebased]:
    """One composed record per finding: ``trees[0]`` is the pinned tree, ``trees[-1]`` the target."""
    if len(trees) == 1:  # the target is the pinned release: a step from the tree to itself
        trees = [trees[0], trees[0]]
    digest = code_digest(min_confidence)
    views = _Views(open_index)
    current: list[Finding | None] = list(findings)
    history: list[list[tuple[str, Rebased]]] = [[] for _ in findings]
    for k in range(len(trees) - 1):
        old, new = trees[k], trees[k + 1]
        step = _Step(old, new, views, StepCache(cache_dir, old, new, digest), min_confidence)
        for i, f in enumerate(current):
            if f is None:
                continue
            rec = step.map(f, findings[i])
            history[i].append((new.version, rec))
            current[i] = _next_finding(f, rec)
        step.cache.save()
        views.keep_only(new)
        if progress:
            progress(f"rebase {old.version} → {new.version}", k + 1, len(trees) - 1)
    return [compose(findings[i], h) for i, h in enumerate(history)]


class _Step:
    """Maps cursors across one release step, answering from the cache where it can."""

    def __init__(self, old: Tree, new: Tree, views: _Views, cache: StepCache, min_confidence: float) -> None:
        self.old, self.new, self.views, self.cache = old, new, views, cache
        self.min_confidence = min_confidence
        self._mapper: Mapper | None = None
        self._same: dict[str, bool] = {}

    def map(self, f: Finding, original: Finding) -> Rebased:
        key = _key(f)
        if key in self.cache.entries:
            return _from_json(self.cache.entries[key], original.anchor)
        if f.status == "ok" and f.path and self._identical(f.path):
            loc = Location(f.path, f.anchor.line, f.anchor.line_end, f.anchor.label)
            return Rebased(original.anchor, loc, loc, "unchanged", False, 1.0)
        rec = replace(self.mapper().map(f), anchor=original.anchor)
        self.cache.entries[key] = _to_json(rec)
        self.cache.dirty = True
        return rec

    def mapper(self) -> Mapper:
        if self._mapper is None:
            (ov, on), (nv, nn) = self.views.get(self.old), self.views.get(self.new)
            self._mapper = Mapper(ov, nv, SymbolLocator(ov, nv, (on, nn), self.min_confidence))
        return self._mapper

    def _identical(self, path: str) -> bool:
        if path not in self._same:
            a, b = self.old.root / path, self.new.root / path
            self._same[path] = b.is_file() and a.read_bytes() == b.read_bytes()
        return self._same[path]


def _next_finding(f: Finding, rec: Rebased) -> Finding | None:
    """The cursor for the next step: the anchor as it would read in the newer tree."""
    if rec.new is None:
        return None
    n = rec.new
    a = replace(f.anchor, path=n.path, line=n.line, line_end=n.line_end, label=n.label)
    return Finding(a, n.path, n.line, n.line_end, f.kind, "ok", "", None)


def compose(finding: Finding, steps: Sequence[tuple[str, Rebased]]) -> Rebased:
    """Fold the per-step records of one anchor into one record pinned tree → target tree."""
    first = steps[0][1]
    version, last = steps[-1]
    notes = tuple(f"{v}: {r.message}" for v, r in steps if r.message)
    evidence = tuple(f"{v}: {e}" for v, r in steps for e in r.evidence)
    old_span = next((r.old_span for _, r in steps if r.old_span), None)  # identical steps keep lines
    new_span = next((r.new_span for _, r in reversed(steps) if r.new_span), None)
    if last.status in _GONE:
        return replace(last, old=first.old, message="; ".join(notes), evidence=evidence, release=version,
                       old_span=old_span, confidence=0.0)
    changes = [(v, r.status) for v, r in steps if r.status in _CHANGES]
    kinds = {s for _, s in changes}
    status = next((s for s in ("split", "merged", "renamed") if s in kinds), None)
    if status is None:
        status = "moved-file" if last.new.path != first.old.path else (
            "unchanged" if (last.new.line, last.new.line_end) == (first.old.line, first.old.line_end) else "moved")
    confidence = 1.0
    for _, r in steps:
        confidence *= r.confidence
    successor = next((r.successor for _, r in reversed(steps) if r.successor), None)
    split_pieces = next((r.candidates for _, r in reversed(steps) if r.status == "split"), ())
    return Rebased(
        finding.anchor, first.old, last.new, status, any(r.body_changed for _, r in steps), confidence,
        "; ".join(notes), split_pieces, old_span, new_span, successor, evidence,
        changes[0][0] if changes else None,
    )
