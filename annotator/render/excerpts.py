"""The sentence that cites a line, cut out of its document, for the note beside that line.

A source page shows, next to each cited line, what the course says about it. The whole
paragraph is too much and the anchor alone says nothing, so the note is the sentence holding the
anchor (plus the next one when that sentence is only the anchor and a dash) — or, for a list
item that opens with the anchor (the "map" lists of the phases), the rest of the item. Markdown is reduced
to plain text with backtick code kept; :func:`render` turns that into escaped HTML.
"""

from __future__ import annotations

import html
import re

from annotator.anchors.markdown import FENCE_RE, HEADING_RE  # the same block rules as the scanner
from annotator.records import Anchor

MAX_CHARS = 320
SHORT = 25  # an anchor-led sentence with less than this left is only the anchor
# Unlike the scanner's, a marker here needs text after it: an item's text starts past the spaces.
_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*_(\[\"'])")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__)(.+?)\1")
_SEPARATOR_RE = re.compile(r"^[\s`*]*(?:—|–|--|-|:|\.)?\s*")
_CODE_RE = re.compile(r"(`+)([^`]+?)\1")


def excerpt(lines: list[str], anchor: Anchor) -> str:
    """The citing sentence around ``anchor`` in the document ``lines`` (plain text, `code` kept)."""
    index = anchor.doc_line - 1
    if not 0 <= index < len(lines):
        return ""
    line = lines[index]
    if line.lstrip().startswith("|"):
        return _clip(_table_row(line, anchor))
    start, end = _block(lines, index)
    parts = [_ITEM_RE.sub("", lines[start], count=1).strip()]
    parts += [lines[i].strip() for i in range(start + 1, end + 1)]
    block = " ".join(p for p in parts if p)
    return _clip(_sentence_around(block, anchor, bool(_ITEM_RE.match(lines[start]))))


def render(text: str) -> str:
    """Escaped HTML of an excerpt: backtick spans become ``<code>``, nothing else is markup."""
    out: list[str] = []
    last = 0
    for m in _CODE_RE.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        out.append(f"<code>{html.escape(m.group(2))}</code>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def plain(markdown: str) -> str:
    """Markdown inline text reduced to plain text: links to their text, bold to its words."""
    text = _LINK_RE.sub(lambda m: m.group(1), markdown)
    return _EMPHASIS_RE.sub(lambda m: m.group(2), text)


def _block(lines: list[str], index: int) -> tuple[int, int]:
    """First and last line of the paragraph or list item holding line ``index``."""

    def stops(i: int) -> bool:
        text = lines[i]
        return not text.strip() or bool(HEADING_RE.match(text) or FENCE_RE.match(text))

    start = index
    while start > 0 and not _ITEM_RE.match(lines[start]) and not stops(start - 1):
        start -= 1
    end = index
    while end + 1 < len(lines) and not stops(end + 1) and not _ITEM_RE.match(lines[end + 1]):
        end += 1
    return start, end


def _table_row(line: str, anchor: Anchor) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    kept = [c for c in cells if c and anchor.text not in c and not set(c) <= set("-: ")]
    return plain(" · ".join(kept))


def _sentence_around(block: str, anchor: Anchor, item: bool) -> str:
    """The sentence holding the anchor; for a list item led by the anchor, the whole item."""
    at = block.find(anchor.text)
    if at < 0:
        return plain(block)
    if item and _opens(block[:at]):
        return plain(_SEPARATOR_RE.sub("", block[at + len(anchor.text) :], count=1))
    bounds = [0] + [m.end() for m in _SENTENCE_END_RE.finditer(block)] + [len(block)]
    i = max(k for k in range(len(bounds) - 1) if bounds[k] <= at)
    sentence = block[bounds[i] : bounds[i + 1]].strip()
    local = sentence.find(anchor.text)
    before, after = sentence[:local], sentence[local + len(anchor.text) :]
    if not _opens(before):
        return plain(before + (anchor.label or anchor.text) + after)
    text = _SEPARATOR_RE.sub("", after, count=1)
    if len(text.strip()) < SHORT and i + 2 < len(bounds):  # only the anchor: add the next sentence
        text = f"{text} {block[bounds[i + 1] : bounds[i + 2]]}"
    return plain(text.strip())


def _opens(before: str) -> bool:
    return before.strip(" `*_([") == ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_CHARS)
    clipped = text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS].rstrip(" ,;:")
    if clipped.count("`") % 2:
        clipped += "`"
    return clipped + " …"
