"""Every anchor of an annotation page becomes a link to its source page, at the cited line.

Anchors sit inside code spans, tables, list items and markdown links; rewriting them as
markdown would mean re-implementing markdown's escaping rules for each place. Instead each
anchor's characters are swapped for an inert token before markdown runs (:func:`mark`), and
after rendering each token is swapped for HTML built here from escaped text (:func:`substitute`).
A token inside ``<code>`` yields a link inside the code, which browsers render as linked code.

A broken anchor is never dropped: it keeps its text, gains its status in a visible badge and its
message as a tooltip, and still links to the cited line when that line exists.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence

from annotator.records import Anchor
from annotator.render.excerpts import plain
from annotator.render.model import Citation

_TOKEN = "xqannotatecite{}qx"
_TOKEN_RE = re.compile(r"xqannotatecite(\d+)qx")
# A tag, or a token in text: tokens inside tags (a heading's id slug) are left as they are.
_TAG_OR_TOKEN_RE = re.compile(r"<[^>]*>|xqannotatecite(\d+)qx")


def token(ordinal: int) -> str:
    """The placeholder of the ``ordinal``-th anchor: letters and digits only, inert in markdown."""
    return _TOKEN.format(ordinal)


def mark(markdown: str, anchors: Sequence[Anchor]) -> tuple[str, set[int]]:
    """``markdown`` with each anchor's text replaced by its token.

    Returns the new text and the ordinals that were placed. An anchor whose recorded position
    no longer holds its text (another plugin changed the page) is left alone.
    """
    lines = markdown.split("\n")
    by_line: dict[int, list[tuple[int, Anchor]]] = {}
    for n, a in enumerate(anchors):
        by_line.setdefault(a.doc_line - 1, []).append((n, a))
    placed: set[int] = set()
    for i, items in by_line.items():
        if not 0 <= i < len(lines):
            continue
        line = lines[i]
        for n, a in sorted(items, key=lambda item: item[1].doc_col, reverse=True):
            start = a.doc_col - 1
            if line[start : start + len(a.text)] == a.text:
                line = line[:start] + token(n) + line[start + len(a.text) :]
                placed.add(n)
        lines[i] = line
    return "\n".join(lines), placed


def substitute(content: str, replacement: Callable[[int], str | None]) -> str:
    """Rendered HTML with each token in text swapped for ``replacement(ordinal)``.

    Tokens inside tags stay (a heading holding an anchor has the token in its id, and the
    table of contents links to that id); None from ``replacement`` also keeps the token.
    """

    def swap(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group(0)
        out = replacement(int(m.group(1)))
        return m.group(0) if out is None else out

    return _TAG_OR_TOKEN_RE.sub(swap, content)


_CODE_PATH_RE = re.compile(r"<code>([\w.-]+(?:/[\w.-]+)+)</code>")


def link_paths(content: str, href: Callable[[str], str | None]) -> str:
    """Code spans naming a whole tree path (``vllm/v1/core/block_pool.py``) link to its page.

    MAP.md's tables and the notes' prose name files without a line; when the site has that
    file's page, the name becomes a link to its top. ``href(path)`` returns None otherwise.
    """

    def swap(m: re.Match[str]) -> str:
        target = href(html.unescape(m.group(1)))
        return f'<a href="{html.escape(target)}">{m.group(0)}</a>' if target else m.group(0)

    return _CODE_PATH_RE.sub(swap, content)


def anchor_html(c: Citation, href: str | None) -> str:
    """The HTML of one anchor: a link (tinted when broken), its status badge when broken."""
    esc = html.escape
    a, f = c.finding.anchor, c.finding
    text = plain(a.text) if a.text.startswith("[") else a.text
    if c.broken:
        tip = f"{f.status}: {f.message}" + (f" (suggestion: {f.suggestion})" if f.suggestion else "")
        classes = "annotate-cite annotate-broken"
    else:
        tip = f"{f.path}:{f.line}" + (f"–{f.line_end}" if f.line_end else "")
        tip += f" — {a.label}" if a.label else ""
        classes = "annotate-cite"
    attrs = f'class="{classes}" id="{c.element_id}" title="{esc(tip)}"'
    core = (
        f'<a {attrs} href="{esc(href)}">{esc(text)}</a>'
        if href and c.linkable
        else f"<span {attrs}>{esc(text)}</span>"
    )
    badge = f'<span class="annotate-status">{esc(f.status)}</span>' if c.broken else ""
    return core + badge


def fix_toc(toc_items: Sequence, texts: Mapping[int, str]) -> None:
    """Tokens in headings also reach the table of contents: put the anchor text back there."""
    for item in toc_items:
        item.title = _TOKEN_RE.sub(
            lambda m: html.escape(texts.get(int(m.group(1)), "")), item.title
        )
        fix_toc(item.children, texts)
