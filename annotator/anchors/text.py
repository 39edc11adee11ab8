"""Inline text of an anchor: code spans, and where a label starts, where it stops, what kind it is.

A label follows the line number after a dash (em, en, ``--`` or ``-``, spaces optional). Inside a
code span it is the rest of the span; written as its own code span it is that span; written bare
it runs to the end of the clause (``,`` ``.`` ``:`` ``;`` before a space, ``|``, a backtick, an
unbalanced bracket, or a second spaced dash). A bare label that starts with a word that can only
be code (``Foo.bar()``, ``snake_case``, ``CamelCase``) is that word alone, the rest being prose.

Whatever its extent, a label is a *symbol* iff it is a dotted identifier optionally ending in
``()`` (:func:`label_kind`); anything else is *prose*.
"""

from __future__ import annotations

import re

SYMBOL_RE = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*(?:\(\))?")
_SEP_RE = re.compile(r"\s*(?:—|–|--|-)\s*")
_STOP_RE = re.compile(r"[`|;()\[\]]|[,.:](?=\s|$)|\s+(?:—|–|--|-)\s")
_CAMEL_RE = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
Span = tuple[int, int, int, int]


def label_kind(label: str | None) -> str | None:
    """``symbol`` for a dotted identifier optionally ending in ``()``, ``prose`` otherwise."""
    if label is None:
        return None
    return "symbol" if SYMBOL_RE.fullmatch(label) else "prose"


def code_spans(line: str) -> list[Span]:
    """Inline code spans as (open, content start, content end, close end); unmatched runs are text."""
    spans: list[Span] = []
    i = line.find("`")
    while i != -1:
        j = i
        while j < len(line) and line[j] == "`":
            j += 1
        close = _closing_run(line, j, j - i)
        if close is None:
            i = line.find("`", j)
            continue
        spans.append((i, j, close, close + j - i))
        i = line.find("`", close + j - i)
    return spans


def _closing_run(line: str, k: int, run: int) -> int | None:
    k = line.find("`", k)
    while k != -1:
        m = k
        while m < len(line) and line[m] == "`":
            m += 1
        if m - k == run:
            return k
        k = line.find("`", m)
    return None


def link_label(text: str) -> str | None:
    """A link's text is its label, except a lone plain word (``here``, ``source``): that is no label."""
    text = text.strip()
    coded = len(text) > 2 and text[0] == "`" and text[-1] == "`"
    name = text.strip("`").strip()
    if not name or (not coded and SYMBOL_RE.fullmatch(name) and not looks_coded(name)):
        return None
    return name


def label_at(
    line: str, start: int, pos: int, span: Span | None
) -> tuple[int, str | None, int]:
    """(text start, label, text end) for a citation whose line number ends at ``pos``."""
    if span is not None:
        rest = line[pos : span[2]]
        if rest.strip():
            sep = _SEP_RE.match(rest)
            if sep is None or not rest[sep.end() :].strip():
                return start, None, pos
            return start, rest[sep.end() :].strip(), pos + len(rest.rstrip())
        found = _label_after(line, span[3])
        if found is None or line[span[1] : start].strip():
            return start, None, pos
        return span[0], found[0], found[1]
    found = _label_after(line, pos)
    return (start, None, pos) if found is None else (start, *found)


def _label_after(line: str, pos: int) -> tuple[str, int] | None:
    """A separator then a label: a whole code span, or bare words up to a clause boundary."""
    sep = _SEP_RE.match(line, pos)
    if sep is None:
        return None
    q = sep.end()
    if q < len(line) and line[q] == "`":
        for open_, c0, c1, close in code_spans(line[q:]):
            if open_ == 0:
                inner = line[q + c0 : q + c1].strip()
                return (inner, q + close) if inner else None
        return None
    end = _bare_end(line, q)
    label = line[q:end].rstrip().rstrip("*~").rstrip()
    head = SYMBOL_RE.match(label)
    if head and head.end() < len(label) and label[head.end()].isspace() and looks_coded(head[0]):
        label = head[0]  # `Foo.bar() does x`: the code-like head is the label, the rest is prose
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
