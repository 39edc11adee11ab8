"""The page of one upstream file: highlighted lines with stable ids, the notes beside them.

Layout, chosen so that a 7,000-line file loads as fast as any page (no script runs per line):

* one table row per line, ``<tr id="L333">`` (class names avoid Pygments' short names,
  which mkdocs-material colours): a link to the row itself for the line number,
  the highlighted code, and — on the first line of each citation — a cell spanning the
  following rows that holds the notes, so they sit beside the code without stretching it;
* cited lines carry the class ``hl``; the line named in the URL's fragment is picked out by
  the CSS ``:target`` rule, so following a citation lands on a highlighted line;
* above the code: the file's imports and importers and an outline of its definitions with
  each function's callers, all from the graphs.

The code table is marked ``data-search-exclude``: search finds the outline's names, not every
token of every file.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from annotator.records import FileIndex
from annotator.render.excerpts import render as render_text
from annotator.render.model import FileFacts, Note, Ref
from annotator.render.nav import Linker, source_uri

MAX_CALLERS = 12
CHARS_PER_NOTE_ROW = 48  # rough characters per visual line of the notes column


def render_source(
    path: str,
    lines_html: Sequence[str],
    fi: FileIndex | None,
    notes: Sequence[Note],
    facts: FileFacts,
    link: Linker,
) -> str:
    """The whole content of the source page of ``path``.

    Args:
        path: tree-relative path of the file.
        lines_html: the file's highlighted lines (:func:`annotator.render.highlight.highlight_lines`).
        fi: the file's index (outline), None for files that are not Python.
        notes: the citations of lines of this file.
        facts: imports, importers and callers from the graphs.
        link: hrefs relative to this page.
    """
    esc = html.escape
    cited = len(notes)
    head = [
        f'<h1 class="annotate-path">{esc(path)}</h1>',
        f'<p class="annotate-meta">{len(lines_html)} lines · {cited} '
        f'citation{"" if cited == 1 else "s"}</p>',
    ]
    if fi is not None and fi.summary:
        head.append(f'<p class="annotate-summary">{render_text(fi.summary)}</p>')
    return "\n".join(
        [
            *head,
            facts_html(facts, link),
            outline_html(fi, facts, notes, link),
            '<h2 id="source">Source</h2>',
            code_table(lines_html, notes, link),
        ]
    )


def code_table(
    lines_html: Sequence[str],
    notes: Sequence[Note],
    link: Linker,
    *,
    first: int = 1,
    prefix: str = "L",
    beside: bool = True,
) -> str:
    """Rows ``first..`` of a file as a table, with the notes in cells beside their lines.

    Args:
        lines_html: highlighted lines to show, the first being line ``first``.
        notes: citations; those starting outside the shown lines are ignored.
        link: hrefs relative to the page.
        first: line number of ``lines_html[0]``.
        prefix: element id prefix of the rows (``L`` → ``L333``); pair pages show two files.
        beside: put the notes in a column beside the code; otherwise only tint the cited lines
            (pair pages list the notes under each narrow column instead).
    """
    last = first + len(lines_html) - 1
    starts, cited = _by_first_line(notes, first, last)
    spans = _note_spans(sorted(starts), starts, last) if beside else {}
    notes_col = '<col class="an">' if beside else ""
    rows = [
        f'<div class="annotate-src highlight{"" if beside else " annotate-narrow"}" data-search-exclude>'
        f'<table class="annotate-code"><colgroup><col class="ln"><col class="lc">{notes_col}</colgroup><tbody>'
    ]
    for n, code in enumerate(lines_html, first):
        cls = ' class="hl"' if n in cited else ""
        cell = ""
        if n in spans:
            body = "".join(_note_html(note, link) for note in starts[n])
            rowspan = f' rowspan="{spans[n]}"' if spans[n] > 1 else ""
            cell = f'<td class="an"{rowspan}>{body}</td>'
        rows.append(
            f'<tr id="{prefix}{n}"{cls}><td class="ln"><a href="#{prefix}{n}">{n}</a></td>'
            f'<td class="lc">{code}</td>{cell}</tr>'
        )
    rows.append("</tbody></table></div>")
    return "\n".join(rows)


def _by_first_line(notes: Sequence[Note], first: int, last: int) -> tuple[dict[int, list[Note]], set[int]]:
    """Notes grouped by their first line, and every cited line, within ``first..last``."""
    starts: dict[int, list[Note]] = {}
    cited: set[int] = set()
    for note in notes:
        if first <= note.line <= last:
            starts.setdefault(note.line, []).append(note)
            cited.update(range(note.line, min(note.line_end, last) + 1))
    return starts, cited


def _note_spans(lines: list[int], starts: dict[int, list[Note]], last: int) -> dict[int, int]:
    """Rows each notes cell spans: enough for its text, but never into the next notes cell."""
    spans: dict[int, int] = {}
    for i, line in enumerate(lines):
        want = sum(2 + len(n.text) // CHARS_PER_NOTE_ROW for n in starts[line])
        limit = (lines[i + 1] if i + 1 < len(lines) else last + 1) - line
        spans[line] = max(1, min(want, limit))
    return spans


def _note_html(note: Note, link: Linker) -> str:
    esc = html.escape
    href = link.href(note.uri, note.fragment)
    title = f'<a href="{esc(href)}">{esc(note.title)}</a>' if href else esc(note.title)
    label = f' <code>{esc(note.label)}</code>' if note.label else ""
    status = (
        f' <span class="annotate-status">{esc(note.status)}</span>' if note.status != "ok" else ""
    )
    where = f"L{note.line}" + (f"–{note.line_end}" if note.line_end > note.line else "")
    text = f'<span class="annotate-note-text">{render_text(note.text)}</span>' if note.text else ""
    return (
        f'<div class="annotate-note"><span class="annotate-note-head">{title}{label}{status} '
        f'<span class="annotate-where">{where}</span></span>{text}</div>'
    )


def outline_html(fi: FileIndex | None, facts: FileFacts, notes: Sequence[Note], link: Linker) -> str:
    """The file's definitions in order, nested by qualname, with citation counts and callers."""
    if fi is None or not fi.symbols:
        return ""
    esc = html.escape
    items = ['<h2 id="outline">Outline</h2>', '<ul class="annotate-outline">']
    for sym in sorted(fi.symbols, key=lambda s: (s.line, s.qualname)):
        depth = min(sym.qualname.count("."), 4)
        count = sum(1 for n in notes if sym.start <= n.line <= sym.end)
        badge = f' <span class="annotate-count">{count} cited</span>' if count else ""
        word = "class" if sym.kind == "class" else "def"
        callers = _callers_html(facts.callers.get(sym.qualname, ()), link)
        items.append(
            f'<li class="d{depth}"><a href="#L{sym.line}"><span class="annotate-kind">{word}</span> '
            f"<code>{esc(sym.qualname)}</code></a> "
            f'<span class="annotate-where">L{sym.start}–{sym.end}</span>{badge}{callers}</li>'
        )
    items.append("</ul>")
    return "\n".join(items)


def _callers_html(callers: Sequence[Ref], link: Linker) -> str:
    if not callers:
        return ""
    shown = ", ".join(ref_html(r, link) for r in callers[:MAX_CALLERS])
    more = f" and {len(callers) - MAX_CALLERS} more" if len(callers) > MAX_CALLERS else ""
    return f'<div class="annotate-callers">called by {shown}{more}</div>'


def facts_html(facts: FileFacts, link: Linker) -> str:
    """The file's imports and importers, folded, each linking to its source page when there is one."""
    blocks = []
    for title, refs in (("Imports", facts.imports), ("Imported by", facts.importers)):
        if refs:
            items = "".join(f"<li>{ref_html(r, link)}</li>" for r in refs)
            blocks.append(
                f'<details class="annotate-facts"><summary>{title} ({len(refs)})</summary>'
                f"<ul>{items}</ul></details>"
            )
    return "\n".join(blocks)


def ref_html(ref: Ref, link: Linker) -> str:
    """A module or function name, linked to its source page (and line) when the site has one."""
    name = f"<code>{html.escape(ref.name)}</code>"
    if ref.path is None:
        return name
    href = link.href(source_uri(ref.path), f"L{ref.line}" if ref.line else "")
    return f'<a href="{html.escape(href)}">{name}</a>' if href else name
