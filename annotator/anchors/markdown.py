"""Citations in markdown: prose, lists, tables, inline code, links and citation fences.

Block structure matters for two rules only, so this is a line classifier, not a markdown
parser: a continuation (``:443 — …``) takes the file of the previous citation in the same
paragraph, list or table; and in a table row, a citation with no label of its own takes the
row's symbol-like cell (``| KVCacheBlock | … | kv_cache_utils.py:116 |``).

Fenced code blocks are code, not citations, and are skipped — unless the fence's info string
contains the word ``anchors`` (```` ```anchors ```` or ```` ```text anchors ````), which marks
the block as a list of citations to check, one or more per line. Indented code blocks (four
spaces after a blank line or a heading, outside a list) are skipped too.
"""

from __future__ import annotations

import re

from annotator.anchors.context import DocumentContext
from annotator.anchors.grammar import scan_line
from annotator.anchors.text import SYMBOL_RE, CodeSpans, looks_coded
from annotator.records import Anchor

CITATION_FENCE_WORD = "anchors"
FENCE_RE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
HEADING_RE = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
_DELIMITER_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$|^\s*\|\s*:?-+:?\s*\|\s*$")
_PIPE_RE = re.compile(r"(?<!\\)\|")


def scan_markdown(text: str, doc: str) -> list[Anchor]:
    """Every citation in a markdown document, in reading order."""
    ctx = DocumentContext(doc)
    lines = text.split("\n")
    ahead = _LookAhead(lines)
    fence: tuple[str, bool] | None = None  # (closing run, is a citation fence)
    block = ""  # "", "para", "list", "table"
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if fence is not None:
            if _closes(line, fence[0]):
                fence = None
                ctx.end_block()
            elif fence[1]:
                _scan_into(ctx, n, line, table=False)
            continue
        opened = FENCE_RE.match(line) if line.lstrip()[:1] in ("`", "~") else None
        if opened and not (opened["fence"][0] == "`" and "`" in opened["info"]):
            fence = (opened["fence"], CITATION_FENCE_WORD in opened["info"].split())
            ctx.end_block()
            block = ""
            continue
        block = _next_block(ctx, block, line, ahead, n)
        if block != "code":
            _scan_into(ctx, n, line, table=block == "table")
        if block == "heading":
            ctx.end_block()
    return ctx.anchors


def _closes(line: str, run: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(run) and set(stripped) == {run[0]}


def _next_block(ctx: DocumentContext, block: str, line: str, ahead: _LookAhead, n: int) -> str:
    """Classify ``line`` ("", heading, code, para, list, table); a new kind ends the previous block."""
    head = line.lstrip()[:1]
    if not head:
        if block == "list" and ahead.list_goes_on(n):
            return "list"
        ctx.end_block()
        return ""
    if block in ("", "heading", "code") and (line.startswith("    ") or line.startswith("\t")):
        return "code"  # an indented code block: code, like an unmarked fence
    if (head == "#" and HEADING_RE.match(line)) or (head in "-*_" and _RULE_RE.match(line)):
        ctx.end_block()
        return "heading"
    kind = "para"
    if head == "|" or ("|" in line and (block == "table" or _DELIMITER_RE.match(line))):
        kind = "table"
    elif block == "list" or ((head in "-*+" or head.isdigit()) and _ITEM_RE.match(line)):
        kind = "list"  # an item, or a continuation line (indented or lazy) of the current one
    if kind != block:
        ctx.end_block()
    return kind


class _LookAhead:
    """The next line with text after a blank one, found by one backward pass (built when first
    needed), so a long run of blank lines inside a list is not searched once per blank line."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._next_text: list[int] | None = None

    def list_goes_on(self, n: int) -> bool:
        """After blank line ``n`` (1-based), a list continues if the next text is an item or indented."""
        if self._next_text is None:
            self._next_text = nxt = [len(self._lines)] * (len(self._lines) + 1)
            for i in range(len(self._lines) - 1, -1, -1):
                nxt[i] = i if self._lines[i].strip() else nxt[i + 1]
        i = self._next_text[n]
        if i >= len(self._lines):
            return False
        later = self._lines[i]
        return bool(_ITEM_RE.match(later)) or later[:1].isspace()


def _scan_into(ctx: DocumentContext, n: int, line: str, *, table: bool) -> None:
    cites = scan_line(line)
    if not cites:
        return
    cells = _cells(line) if table else []
    named = _symbol_cells(line, cells)[:2]  # a cite in the first symbol cell takes the second
    for cite in cites:
        label = _cell_label(named, cite.start) if cite.label is None and named else None
        ctx.add(n, line, cite, label)


def _cells(line: str) -> list[tuple[int, int]]:
    """(start, end) of each table cell, splitting on pipes outside code spans."""
    spans = CodeSpans(line)
    bounds = [-1]
    for m in _PIPE_RE.finditer(line):
        if not spans.holds(m.start()):
            bounds.append(m.start())
    bounds.append(len(line))
    return [(a + 1, b) for a, b in zip(bounds, bounds[1:]) if line[a + 1 : b].strip()]


def _symbol_cells(line: str, cells: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """(start, end, name) of the cells that read as a symbol, in order."""
    out = []
    for a, b in cells:
        name = _symbol_cell(line[a:b])
        if name is not None:
            out.append((a, b, name))
    return out


def _cell_label(named: list[tuple[int, int, str]], pos: int) -> str | None:
    """The first other cell that reads as a symbol: backticked, a call, dotted, snake or CamelCase."""
    for a, b, name in named:
        if not a <= pos < b:
            return name
    return None


def _symbol_cell(cell: str) -> str | None:
    text = cell.strip()
    quoted = len(text) > 2 and text[0] == "`" and text[-1] == "`"
    name = text.strip("`").strip() if quoted else text
    if not SYMBOL_RE.fullmatch(name):
        return None
    return name if quoted or looks_coded(name) else None
