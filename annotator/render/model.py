"""What the site is made of, as plain records: citations, code spans, pairs, graph facts.

The plugin gathers these once per build (:mod:`annotator.render.collect`) and every page
renderer takes them as arguments, so each renderer is a pure function a test can call with
hand-made records and no mkdocs, no tree, no index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from annotator.records import Finding

# Statuses whose cited file exists and whose cited line is inside it: worth a link even when the
# label is wrong, so a reader can see what the sentence points at.
LINKABLE = frozenset({"ok", "wrong-line", "wrong-file", "unknown-symbol"})


@dataclass(frozen=True)
class Citation:
    """One anchor of one citing document, after resolution.

    Attributes:
        origin: the citing page's docs-relative source path (``phase-02-…/index.md``), or the
            project-relative path of a Python file (``minivllm/core/block_pool.py``).
        ordinal: position among the origin's anchors; the link on the page has id ``cite-N``.
        finding: the resolver's verdict (resolved path and line, status, message).
        excerpt: the citing sentence, plain text with backtick code (see :mod:`.excerpts`).
    """

    origin: str
    ordinal: int
    finding: Finding
    excerpt: str

    @property
    def element_id(self) -> str:
        """The id of the anchor's link on the citing page, the target of back-links."""
        return f"cite-{self.ordinal}"

    @property
    def linkable(self) -> bool:
        """True when the cited file and line exist, so the anchor can link to them."""
        return self.finding.status in LINKABLE and bool(self.finding.path)

    @property
    def broken(self) -> bool:
        """True for any status but ``ok``: shown with its status, and fatal in strict builds."""
        return self.finding.status != "ok"

    @property
    def lines(self) -> tuple[int, int]:
        """First and last cited line (equal for a single line)."""
        f = self.finding
        return f.line, max(f.line, f.line_end or f.line)


@dataclass(frozen=True)
class CodeSpan:
    """Lines ``start..end`` (1-based, inclusive) of one file, usually one definition.

    ``path`` is relative to the upstream tree for upstream code and to the project root for
    minivllm code; ``qualname`` is "" when the span is a window around a module-level line.
    """

    path: str
    qualname: str
    start: int
    end: int
    summary: str = ""


@dataclass(frozen=True)
class Pair:
    """A minivllm definition and the upstream definition its ``# upstream:`` comment names."""

    mini: CodeSpan
    upstream: CodeSpan
    citation: Citation  # the anchor comment in the minivllm file


@dataclass(frozen=True)
class Ref:
    """A named place in the tree (a module or a function), with its file and line when known."""

    name: str
    path: str | None = None
    line: int = 0


@dataclass(frozen=True)
class FileFacts:
    """What the graphs say about one upstream file, for its source page.

    ``imports``/``importers`` are modules of the tree; ``callers`` maps a qualname defined in
    this file to the functions that call it.
    """

    imports: tuple[Ref, ...] = ()
    importers: tuple[Ref, ...] = ()
    callers: dict[str, tuple[Ref, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PageInfo:
    """A citing page as the site shows it: where it lives and what it is called."""

    uri: str  # docs-relative source path of the page
    title: str
    group: str  # the phase directory (first path part), or "" for top-level pages


@dataclass(frozen=True)
class Note:
    """A citation as a source page shows it beside the cited lines, with the way back."""

    line: int
    line_end: int
    title: str  # the citing page's title, or "minivllm · Qualname"
    uri: str  # the page to go back to
    fragment: str  # element id on that page ("" for the top)
    text: str  # citing sentence (plain text, backtick code)
    label: str  # the anchor's label, "" when it has none
    status: str = "ok"
