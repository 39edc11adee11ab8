"""Inline text of an anchor: code spans, and where a label starts, where it stops, what kind it is.

A label follows the line number after a dash (em, en, ``--`` or ``-``, or a lookalike such as the
minus sign, spaces optional). Inside a
code span it is the rest of the span; written as its own code span it is that span; written bare
it runs to the end of the clause (``,`` ``.`` ``:`` ``;`` before a space, ``|``, a backtick, an
unbalanced bracket, or a second spaced dash). A bare label that starts with a word that can only
be code (``Foo.bar()``, ``snake_case``, ``CamelCase``) is that word alone, the rest being prose.

Whatever its extent, a label is a *symbol* iff it is a dotted identifier optionally ending in
``()`` (:func:`label_kind`); anything else is *prose*.

Every step is linear in the line: one line may hold a hundred thousand citations and code spans,
so nothing here slices or searches "the rest of the line" once per citation.
"""

from __future__ import annotations

import re
from bisect import bisect_right

SYMBOL_RE = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*(?:\(\))?")
# hyphen-minus, hyphen, non-breaking hyphen, figure dash, en, em, horizontal bar, minus sign, small
# em dash, small and fullwidth hyphen-minus: a lookalike must separate, not silently drop the label
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
DASH = f"[{DASHES}]"
_SEP_RE = re.compile(rf"\s*(?:--|{DASH})\s*")
# the spaced dash starts only where a blank run starts, else each blank of a long gap retries it
_STOP_RE = re.compile(rf"[`|;()\[\]]|[,.:](?=\s|$)|(?<!\s)\s+(?:--|{DASH})\s")
_CAMEL_RE = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
_RUN_RE = re.compile(r"`+")
_NONBLANK_RE = re.compile(r"\S")
Span = tuple[int, int, int, int]


def label_kind(label: str | None) -> str | None:
    """``symbol`` for a dotted identifier optionally ending in ``()``, ``prose`` otherwise."""
    if label is None:
        return None
    return "symbol" if SYMBOL_RE.fullmatch(label) else "prose"


def code_spans(line: str) -> list[Span]:
    """Inline code spans as (open, content start, content end, close end); unmatched runs are text.

    A run of backticks opens a span closed by the next run of the same length; runs are indexed
    by length once, so an unmatched run costs a lookup, not a search to the end of the line.
    """
    runs = [(m.start(), m.end()) for m in _RUN_RE.finditer(line)]
    by_length: dict[int, list[int]] = {}
    for k, (a, b) in enumerate(runs):
        by_length.setdefault(b - a, []).append(k)
    seen = dict.fromkeys(by_length, 0)  # per length: how many of its runs lie behind us
    spans: list[Span] = []
    k = 0
    while k < len(runs):
        a, b = runs[k]
        same, i = by_length[b - a], seen[b - a]
        while i < len(same) and same[i] <= k:
            i += 1
        seen[b - a] = i
        if i == len(same):
            k += 1
            continue
        close = runs[same[i]][0]
        spans.append((a, b, close, close + b - a))
        k = same[i] + 1
    return spans


class CodeSpans:
    """The code spans of one line with logarithmic lookups (spans are disjoint and in order)."""

    def __init__(self, line: str) -> None:
        self.spans = code_spans(line) if "`" in line else []
        self._opens = [s[0] for s in self.spans]

    def _before(self, pos: int) -> Span | None:
        i = bisect_right(self._opens, pos) - 1
        return self.spans[i] if i >= 0 else None

    def content_at(self, pos: int) -> Span | None:
        """The span whose content (between the backtick runs) holds ``pos``."""
        span = self._before(pos)
        return span if span is not None and span[1] <= pos < span[2] else None

    def holds(self, pos: int) -> bool:
        """True when ``pos`` lies anywhere in a span, backticks included."""
        span = self._before(pos)
        return span is not None and pos < span[3]

    def opening_at(self, pos: int) -> Span | None:
        """The span whose opening run starts at ``pos``."""
        span = self._before(pos)
        return span if span is not None and span[0] == pos else None


def link_label(text: str) -> str | None:
    """A link's text is its label, except a lone plain word (``here``, ``source``): that is no label."""
    text = text.strip()
    coded = len(text) > 2 and text[0] == "`" and text[-1] == "`"
    name = text.strip("`").strip()
    if not name or (not coded and SYMBOL_RE.fullmatch(name) and not looks_coded(name)):
        return None
    return name


def label_at(
    line: str, start: int, pos: int, span: Span | None, spans: CodeSpans | None = None
) -> tuple[int, str | None, int]:
    """(text start, label, text end) for a citation whose line number ends at ``pos``.

    ``spans`` are the line's code spans (computed here when not given).
    """
    spans = spans if spans is not None else CodeSpans(line)
    if span is None:
        found = _label_after(line, pos, spans)
        return (start, None, pos) if found is None else (start, *found)
    if _NONBLANK_RE.search(line, pos, span[2]):
        sep = _SEP_RE.match(line, pos, span[2])
        body = line[sep.end() : span[2]].strip() if sep is not None else ""
        if not body:
            return start, None, pos
        return start, body, pos + len(line[pos : span[2]].rstrip())
    found = _label_after(line, span[3], spans)
    if found is None or _NONBLANK_RE.search(line, span[1], start):
        return start, None, pos
    return span[0], found[0], found[1]


def _label_after(line: str, pos: int, spans: CodeSpans) -> tuple[str, int] | None:
    """A separator then a label: a whole code span, or bare words up to a clause boundary."""
    sep = _SEP_RE.match(line, pos)
    if sep is None:
        return None
    q = sep.end()
    if q < len(line) and line[q] == "`":
        span = spans.opening_at(q)
        inner = line[span[1] : span[2]].strip() if span is not None else ""
        return (inner, span[3]) if span is not None and inner else None
    head = SYMBOL_RE.match(line, q)
    if head and head.end() < len(line) and line[head.end()].isspace() and looks_coded(head[0]):
        return head[0], head.end()  # `Foo.bar() does x`: the code-like head is the label
    label = line[q : _bare_end(line, q)].rstrip().rstrip("*~").rstrip()
    if not label:
        return None
    return label, q + len(label)


def looks_coded(word: str) -> bool:
    """A bare word that can only be code: a call, a dotted or snake_case name, or CamelCase."""
    if word.endswith("()") or "." in word or "_" in word:
        return True
    return _CAMEL_RE.search(word) is not None


def _bare_end(line: str, q: int) -> int:
    """Where a label written without backticks stops: end of clause, cell, or a second dash."""
    depth = 0
    for m in _STOP_RE.finditer(line, q):
        c = m.group()[0]
        if c in "([":
            depth += 1
        elif c in ")]" and depth:
            depth -= 1
        elif depth == 0 or c in "`|;":  # inside brackets, commas and dashes belong to the label
            return m.start()
    return len(line)
