"""Plain records passed between the pipeline stages (fetch → index → graphs/verify/rebase → render).

Every stage takes and returns these frozen dataclasses, so each can be tested alone and cached
(they pickle) without dragging parsers or networkx along.

Qualified names: a method is ``Class.method``; a function nested in another is ``outer.inner``
(no ``<locals>``), because that is how course prose names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SymbolKind = Literal["class", "function", "method"]
AnchorKind = Literal["def", "lead", "interior"]
LabelKind = Literal["symbol", "prose"]
Status = Literal[
    "ok",
    "missing-file",
    "line-out-of-range",
    "ambiguous-path",
    "wrong-line",
    "wrong-file",
    "unknown-symbol",
]
STATUSES: tuple[str, ...] = (
    "ok",
    "missing-file",
    "line-out-of-range",
    "ambiguous-path",
    "wrong-line",
    "wrong-file",
    "unknown-symbol",
)


@dataclass(frozen=True, slots=True)
class Symbol:
    """One class or function definition; all lines are 1-based and inclusive."""

    qualname: str
    kind: SymbolKind
    start: int  # first decorator line, or the def line when undecorated
    line: int  # the line holding ``def``/``class``
    end: int  # last line of the body
    doc_end: int  # last line of the docstring; 0 when there is none
    summary: str  # first sentence of the docstring, "" when there is none

    def contains(self, first: int, last: int | None = None) -> bool:
        """True when the cited line (or range) lies within decorators..end."""
        return self.start <= first and (last or first) <= self.end


@dataclass(frozen=True, slots=True)
class RawImport:
    """An import statement as written; resolution to modules needs the whole tree (graphs)."""

    module: str  # dotted text after ``from``/``import``, without leading dots
    names: tuple[tuple[str, str | None], ...]  # (name, asname) for ``from`` imports
    level: int  # number of leading dots; 0 for absolute
    line: int
    asname: str | None = None  # ``import a.b as c`` → "c"


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call expression: who calls (qualname, "" at module level), the callee text, and where."""

    caller: str
    callee: str
    line: int


@dataclass(frozen=True, slots=True)
class AttrType:
    """The class of ``self.attr`` as ``Class.__init__`` sets it: lets the call graph follow ``self.attr.m()``.

    ``ctor`` is the class expression from a constructor call (``self.x = Pool()``), an annotation
    (``self.x: Pool``) or an annotated parameter (``p: Pool`` then ``self.x = p``).
    """

    cls: str
    attr: str
    ctor: str
    line: int


@dataclass(frozen=True, slots=True)
class ClassBases:
    """A class and the base-class expressions it names, for method resolution through bases."""

    cls: str
    bases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileIndex:
    """Everything the index knows about one ``.py`` file; cached by the file's content hash."""

    path: str  # posix, relative to the tree root
    module: str  # dotted module name; a package's ``__init__.py`` is the package
    digest: str  # sha256 of the file's bytes
    n_lines: int
    summary: str  # module docstring's first sentence
    symbols: tuple[Symbol, ...]
    imports: tuple[RawImport, ...]
    calls: tuple[CallSite, ...]
    attr_types: tuple[AttrType, ...] = ()
    bases: tuple[ClassBases, ...] = ()
    errors: tuple[str, ...] = ()  # "line:col: syntax error" for regions tree-sitter had to recover


@dataclass(frozen=True, slots=True)
class Anchor:
    """One citation found in a document, before resolution.

    ``path`` is the path as cited (possibly a basename, or inherited by a continuation);
    ``path_span``/``line_span`` are character offsets into the document's line ``doc_line`` of the
    characters a rebase may rewrite — nothing else in the document is ever touched.
    """

    doc: str
    doc_line: int  # 1-based
    doc_col: int  # 1-based column of the anchor's first character
    text: str  # the raw anchor text as it appears
    path: str
    line: int
    line_end: int | None
    label: str | None
    label_kind: LabelKind | None
    path_span: tuple[int, int] | None  # None for continuations (no path written)
    line_span: tuple[int, int]
    near_dir: str | None = None  # directory of the nearest full path earlier in the document


@dataclass(frozen=True, slots=True)
class Finding:
    """An anchor after resolution against a tree: one status, a message, maybe a suggestion."""

    anchor: Anchor
    path: str | None  # resolved path in the tree
    line: int
    line_end: int | None
    kind: AnchorKind | None
    status: Status
    message: str
    suggestion: str | None

    def to_json(self) -> dict[str, object]:
        """The record of DESIGN.md's ``verify --format json`` contract."""
        a = self.anchor
        return {
            "doc": a.doc,
            "doc_line": a.doc_line,
            "doc_col": a.doc_col,
            "text": a.text,
            "path": self.path,
            "line": self.line,
            "line_end": self.line_end,
            "label": a.label,
            "label_kind": a.label_kind,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True, slots=True)
class TreeIdentity:
    """Which release a source tree holds, read from the tree itself (not from a pin).

    ``source`` says where it was read (``upstream/.git``, ``upstream/PKG-INFO``,
    ``upstream/vllm/_version.py``) so a summary line can tell the user what it trusted.
    """

    package: str | None
    version: str | None
    commit: str | None  # hex, as recorded (full from git, often short in an sdist)
    source: str  # "unknown" when the tree records nothing

    def summary(self) -> str:
        """``vllm 0.22.1 @ 0decac0, from upstream/.git``; unknown parts print as ``unknown``."""
        head = f"{self.package or 'unknown'} {self.version or 'unknown'}"
        at = f" @ {self.commit[:7]}" if self.commit else ""
        return f"{head}{at}, from {self.source}"
