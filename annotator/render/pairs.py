"""Side-by-side pages: a minivllm definition next to the upstream definition it mirrors.

A pair starts from an anchor comment in minivllm (``# upstream: path:line — Label``). Its
minivllm side is the definition the comment sits right above (decorators and comments between
are fine) or, failing that, inside; its upstream side is the definition the anchor names, or the
innermost one holding the cited line. For a class, both sides show the class head (up to its
first method): the methods have pairs of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from annotator.index import symbols_containing
from annotator.records import FileIndex, Finding, Symbol
from annotator.render.model import Citation, CodeSpan, Pair

MAX_PAIR_LINES = 300  # longer upstream spans are cut; the source page has the rest
WINDOW = (3, 12)  # lines before/after a module-level citation shown when no definition holds it


def find_pairs(
    citations: Sequence[Citation],
    mini: FileIndex,
    mini_lines: Sequence[str],
    upstream_file,
) -> list[Pair]:
    """The pairs of one minivllm file.

    Args:
        citations: the file's ``# upstream:`` citations (origin = the file's project path).
        mini: the file's index.
        mini_lines: the file's text lines (to see what lies between a comment and a ``def``).
        upstream_file: ``path -> FileIndex | None`` for the upstream tree.
    """
    pairs: list[Pair] = []
    seen: set[tuple[str, str, str, int]] = set()
    for c in citations:
        if not c.linkable:
            continue
        sym = mini_symbol(mini, mini_lines, c.finding.anchor.doc_line)
        if sym is None:
            continue
        up = upstream_span(c.finding, upstream_file(c.finding.path))
        key = (sym.qualname, up.path, up.qualname, up.start)
        if key in seen:
            continue
        seen.add(key)
        start, end = head_span(mini, sym, mini_lines)
        start = min(start, c.finding.anchor.doc_line)  # the comment right above belongs to it
        mini_span = CodeSpan(c.origin, sym.qualname, start, end, sym.summary)
        pairs.append(Pair(mini_span, up, c))
    return pairs


def mini_symbol(fi: FileIndex, lines: Sequence[str], line: int) -> Symbol | None:
    """The definition an anchor comment on ``line`` belongs to: the next one, else the enclosing one."""
    after = [s for s in fi.symbols if s.start > line]
    if after:
        nxt = min(after, key=lambda s: (s.start, -s.end))
        between = lines[line : nxt.start - 1]
        if all(not t.strip() or t.lstrip().startswith("#") for t in between):
            return nxt
    holding = symbols_containing(fi, line)
    return holding[-1] if holding else None


def upstream_span(finding: Finding, fi: FileIndex | None) -> CodeSpan:
    """The upstream code a citation names: its definition (class head for a class) or a window."""
    path = finding.path or ""
    first, last = finding.line, max(finding.line, finding.line_end or finding.line)
    sym = _named_symbol(finding, fi) if fi is not None else None
    if sym is None:
        n_lines = fi.n_lines if fi is not None else last + WINDOW[1]
        return CodeSpan(path, "", max(1, first - WINDOW[0]), min(n_lines, last + WINDOW[1]))
    start, end = head_span(fi, sym) if sym.line == first or sym.kind == "class" else (sym.start, sym.end)
    if not start <= first <= end:  # a line deep inside a class body: show the whole class
        start, end = sym.start, sym.end
    return CodeSpan(path, sym.qualname, start, min(end, start + MAX_PAIR_LINES - 1), sym.summary)


def head_span(fi: FileIndex, sym: Symbol, lines: Sequence[str] = ()) -> tuple[int, int]:
    """Lines of ``sym`` to show: a class up to its first method, anything else whole.

    With the file's ``lines``, blank and comment lines ending a class head are dropped (they
    usually introduce the first method).
    """
    if sym.kind != "class":
        return sym.start, sym.end
    prefix = sym.qualname + "."
    members = [
        s.start
        for s in fi.symbols
        if s.qualname.startswith(prefix) and "." not in s.qualname[len(prefix) :]
    ]
    end = min(members) - 1 if members else sym.end
    while lines and end > sym.line and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return sym.start, max(sym.line, end)


def _named_symbol(finding: Finding, fi: FileIndex) -> Symbol | None:
    first = finding.line
    holding = symbols_containing(fi, first)
    label = finding.anchor.label
    if finding.anchor.label_kind == "symbol" and label:
        parts = label.strip().removesuffix("()").split(".")
        named = [s for s in holding if s.qualname.split(".")[-len(parts) :] == parts]
        if named:
            return named[-1]
    return holding[-1] if holding else None
