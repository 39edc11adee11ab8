"""HTML of the side-by-side pages and of their index by phase.

Each page is one minivllm definition; each upstream twin it cites gets a section with two
columns (upstream | minivllm), both starting at their definition line so the two read
top-to-bottom together. The notes of each side are listed under its column, each linking to the
line it is about; cited lines are tinted in the code.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

from annotator.render.excerpts import render as render_text
from annotator.render.model import CodeSpan, Note, Pair
from annotator.render.nav import Linker, pair_uri, source_uri
from annotator.render.source_page import code_table

LinesFor = Callable[[CodeSpan], Sequence[str]]  # highlighted lines start..end of a span
NotesFor = Callable[[CodeSpan], Sequence[Note]]  # notes whose first line is inside a span


def render_pair_page(
    pairs: Sequence[Pair],
    up_lines: LinesFor,
    mini_lines: LinesFor,
    up_notes: NotesFor,
    mini_notes: NotesFor,
    link: Linker,
) -> str:
    """The page of one minivllm definition (all of ``pairs`` share ``mini``)."""
    esc = html.escape
    mini = pairs[0].mini
    out = [
        f'<h1 class="annotate-path">minivllm <code>{esc(mini.qualname)}</code></h1>',
        f'<p class="annotate-meta">{esc(mini.path)}:{mini.start}–{mini.end} · '
        f'{len(pairs)} upstream twin{"" if len(pairs) == 1 else "s"}</p>',
    ]
    if mini.summary:
        out.append(f'<p class="annotate-summary">{render_text(mini.summary)}</p>')
    for i, pair in enumerate(pairs, 1):
        out.append(_section(i, pair, up_lines, mini_lines, up_notes, mini_notes, link))
    return "\n".join(out)


def _section(i, pair: Pair, up_lines, mini_lines, up_notes, mini_notes, link: Linker) -> str:
    esc = html.escape
    up, mini = pair.upstream, pair.mini
    name = up.qualname or f"{up.path}:{pair.citation.finding.line}"
    href = link.href(source_uri(up.path), f"L{up.start}")
    where = f"{up.path}:{up.start}–{up.end}"
    where_html = f'<a href="{esc(href)}">{esc(where)}</a>' if href else esc(where)
    up_n, mini_n = list(up_notes(up)), list(mini_notes(mini))
    columns = [
        ("upstream", f"u{i}-L", up, up_lines(up), up_n, where_html),
        ("minivllm", f"m{i}-L", mini, mini_lines(mini), mini_n, esc(f"{mini.path}:{mini.start}–{mini.end}")),
    ]
    cols = []
    for side, prefix, span, lines, notes, heading in columns:
        cols.append(
            f'<section class="annotate-col annotate-{side}"><h3>{side} · {heading}</h3>'
            f"{code_table(lines, notes, link, first=span.start, prefix=prefix, beside=False)}"
            f"{_notes_list(notes, prefix, link)}</section>"
        )
    return (
        f'<h2 id="twin-{i}">↔ <code>{esc(name)}</code></h2>\n'
        f'<div class="annotate-pair">{"".join(cols)}</div>'
    )


def _notes_list(notes: Sequence[Note], prefix: str, link: Linker) -> str:
    if not notes:
        return '<p class="annotate-none">No notes cite these lines.</p>'
    esc = html.escape
    items = []
    for note in notes:
        back = link.href(note.uri, note.fragment)
        title = f'<a href="{esc(back)}">{esc(note.title)}</a>' if back else esc(note.title)
        text = f" {render_text(note.text)}" if note.text else ""
        items.append(f'<li><a href="#{prefix}{note.line}">L{note.line}</a> {title}:{text}</li>')
    return f'<ul class="annotate-notes">{"".join(items)}</ul>'


def render_pairs_index(
    pairs: Sequence[Pair], groups: Mapping[Pair, Sequence[str]], titles: Mapping[str, str], link: Linker
) -> str:
    """Every pair, listed under each phase whose pages cite its upstream side (others last)."""
    esc = html.escape
    by_group: dict[str, list[Pair]] = {}
    for pair in pairs:
        for group in groups.get(pair) or [""]:
            by_group.setdefault(group, []).append(pair)
    out = [
        "<h1>Side by side</h1>",
        f"<p>{len(pairs)} minivllm definitions next to the upstream code they mirror, grouped by "
        "the phase whose notes cite the upstream side.</p>",
    ]
    for group in sorted(by_group, key=lambda g: (g == "", g)):
        title = titles.get(group, group) if group else "Not cited by a phase"
        out.append(f'<h2 id="{esc(group or "other")}">{esc(title)}</h2>')
        rows = []
        for pair in sorted(by_group[group], key=lambda p: (p.mini.path, p.mini.start, p.upstream.path)):
            href = link.href(pair_uri(pair.mini.path, pair.mini.qualname)) or ""
            up = pair.upstream
            rows.append(
                f'<tr><td><a href="{esc(href)}"><code>{esc(pair.mini.qualname)}</code></a></td>'
                f"<td>{esc(pair.mini.path)}</td><td><code>{esc(up.qualname or '—')}</code></td>"
                f"<td>{esc(up.path)}:{up.start}</td></tr>"
            )
        out.append(
            '<table class="annotate-table"><thead><tr><th>minivllm</th><th>file</th>'
            f'<th>upstream</th><th>where</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        )
    return "\n".join(out)
