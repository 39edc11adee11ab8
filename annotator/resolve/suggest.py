"""How a broken anchor's corrected text is written, in the writer's own style.

A suggestion is the anchor's text with only its path and line characters (and, for an unknown
symbol, its label) replaced, so pasting it back changes nothing else; where the text has no path
of its own (a continuation) it falls back to the canonical ``path:line — label`` form.
"""

from __future__ import annotations

import difflib
import re

from annotator.records import Anchor, FileIndex, Symbol


def rewrite(a: Anchor, *, path: str | None = None, line: int | None = None, label: str | None = None) -> str:
    """The anchor's text with a new path, line and/or label, every other character kept.

    A range moves as a whole (its length is kept). A continuation, or a label that is not in
    the text (a table row lends it), falls back to the canonical ``path:line — label`` form.
    """
    base = a.doc_col - 1
    first = a.line if line is None else line
    last = None if a.line_end is None else a.line_end + first - a.line
    edits: list[tuple[int, int, str]] = []
    if line is not None:
        s, e = a.line_span[0] - base, a.line_span[1] - base
        edits.append((s, e, _move_numbers(a.text[s:e], first - a.line)))
    if path is not None:
        if a.path_span is None:
            return canonical(path, first, last, label or a.label)
        edits.append((a.path_span[0] - base, a.path_span[1] - base, path))
    if label is not None and a.label:
        at = a.text.rfind(a.label)
        if at < a.line_span[1] - base:
            return canonical(path or a.path, first, last, label)
        edits.append((at, at + len(a.label), label))
    text = a.text
    for s, e, new in sorted(edits, reverse=True):
        text = text[:s] + new + text[e:]
    return text


def canonical(path: str, line: int, line_end: int | None, label: str | None) -> str:
    """``path:line — label`` (``path:a–b`` for a range), the form DESIGN.md documents."""
    span = f"{line}–{line_end}" if line_end else str(line)
    return f"{path}:{span}" + (f" — {label}" if label else "")


def _move_numbers(span_text: str, delta: int) -> str:
    return re.sub(r"\d+", lambda m: str(max(1, int(m.group()) + delta)), span_text)


def nearest_names(fi: FileIndex, label: str) -> list[Symbol]:
    """Up to three definitions whose qualname (or last part) is closest to ``label``."""
    wanted = label.removesuffix("()")
    by_name = {s.qualname: s for s in fi.symbols}
    close = difflib.get_close_matches(wanted, list(by_name), n=3, cutoff=0.6)
    if not close:
        last = {s.qualname.rsplit(".", 1)[-1]: s for s in fi.symbols}
        tail = wanted.rsplit(".", 1)[-1]
        close = [last[n].qualname for n in difflib.get_close_matches(tail, list(last), n=3, cutoff=0.6)]
    return [by_name[q] for q in close]


def relabel(label: str, sym: Symbol) -> str:
    """The symbol's qualname, keeping the ``()`` style of the label it replaces."""
    return sym.qualname + ("()" if label.endswith("()") else "")
