"""The records a rebase produces: where each anchor pointed, where it points now, and the edits.

They are plain frozen data so the mapping, the rewriting and the command's output can each be
tested alone, and so ``--format json`` is a straight serialisation (DESIGN.md's contract).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from annotator.records import Anchor

RebaseStatus = Literal["unchanged", "moved", "moved-file", "renamed", "split", "merged", "missing", "removed"]
REBASE_STATUSES: tuple[str, ...] = (
    "unchanged", "moved", "moved-file", "renamed", "split", "merged", "missing", "removed",
)


@dataclass(frozen=True, slots=True)
class Location:
    """An anchor's target in one tree: resolved path, line(s) and the label it carries."""

    path: str
    line: int
    line_end: int | None
    label: str | None

    def to_json(self) -> dict[str, object]:
        """The ``old``/``new`` object of the rebase JSON record."""
        return {"path": self.path, "line": self.line, "line_end": self.line_end, "label": self.label}

    def place(self) -> str:
        """``path:line`` or ``path:line-end``, as the text report and the review report show it."""
        end = f"-{self.line_end}" if self.line_end is not None else ""
        return f"{self.path}:{self.line}{end}"


@dataclass(frozen=True, slots=True)
class Span:
    """Lines ``first..last`` of one file: what a reviewer should compare across versions."""

    path: str
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Rebased:
    """One anchor after mapping from the pinned tree to the target tree.

    ``body_changed`` says the cited code changed beyond whitespace, so the prose around the anchor
    may be stale; ``old_span``/``new_span`` are the code to diff for the reviewer. ``candidates``
    (for ``missing``) are the nearest definitions as ``path:line — qualname (score: evidence)``,
    best first; for ``split`` they are the other pieces. ``successor`` is the qualified name the
    cited definition goes by now when it changed (renamed, split, merged), ``evidence`` the facts
    that support the new place, and ``release`` the release in which the anchor last stopped
    simply moving (renamed, moved file, vanished), so a reader knows which changelog to read.
    """

    anchor: Anchor
    old: Location
    new: Location | None
    status: RebaseStatus
    body_changed: bool
    confidence: float
    message: str = ""
    candidates: tuple[str, ...] = ()
    old_span: Span | None = None
    new_span: Span | None = None
    successor: str | None = None
    evidence: tuple[str, ...] = ()
    release: str | None = None

    def to_json(self) -> dict[str, object]:
        """DESIGN.md's rebase record, plus ``message`` and ``candidates`` for the reader."""
        return {
            "doc": self.anchor.doc,
            "doc_line": self.anchor.doc_line,
            "text": self.anchor.text,
            "old": self.old.to_json(),
            "new": self.new.to_json() if self.new else None,
            "status": self.status,
            "body_changed": self.body_changed,
            "confidence": round(self.confidence, 3),
            "message": self.message,
            "candidates": list(self.candidates),
            "successor": self.successor,
            "evidence": list(self.evidence),
            "release": self.release,
        }

    def as_missing(self, message: str) -> Rebased:
        """The same anchor, reported unmapped (the rewrite could not express its new place)."""
        return replace(self, new=None, status="missing", confidence=0.0, message=message)


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``old`` by ``new`` at characters ``start..end`` of line ``doc_line`` of ``doc``."""

    doc: str
    doc_line: int
    start: int
    end: int
    old: str
    new: str
