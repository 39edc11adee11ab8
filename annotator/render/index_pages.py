"""The generated entry pages: the home page and the index of source files.

Both are built from the site's records only (pages, citations, pairs), so they always list
exactly what the build produced.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from annotator.render.model import Citation, PageInfo
from annotator.render.nav import MAP, PAIRS, PIN, SOURCES, Linker, page_order, source_uri


def render_home(
    site_name: str,
    pages: Sequence[PageInfo],
    citations: Sequence[Citation],
    counts: Mapping[str, int],
    link: Linker,
) -> str:
    """The landing page: what the site is, the phases with their citation counts, the indexes.

    Args:
        site_name: the site's title.
        pages: the annotation pages.
        citations: every citation of the annotation pages.
        counts: figures to show ("source files", "pairs", "broken anchors").
        link: hrefs relative to the home page.
    """
    esc = html.escape
    per_page: dict[str, int] = {}
    for c in citations:
        per_page[c.origin] = per_page.get(c.origin, 0) + 1
    out = [
        f"<h1>{esc(site_name)}</h1>",
        "<p>Reading notes on vLLM's source, pinned to one release. Every citation in the notes "
        "is a link to the cited line of the real file, and every cited file has a page with the "
        "notes beside the lines they discuss. The side-by-side pages put each piece of minivllm, "
        "the small CPU engine of this project, next to the upstream code it mirrors.</p>",
        '<h2 id="phases">Phases</h2>',
        '<table class="annotate-table"><thead><tr><th>page</th><th>citations</th></tr></thead><tbody>',
    ]
    for page in sorted(pages, key=page_order):
        href = link.href(page.uri) or ""
        out.append(
            f'<tr><td><a href="{esc(href)}">{esc(page.title)}</a></td>'
            f"<td>{per_page.get(page.uri, 0)}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(_more(link))
    figures = " · ".join(f"{n} {esc(name)}" for name, n in counts.items())
    out.append(f'<p class="annotate-meta">{len(citations)} citations · {figures}</p>')
    return "\n".join(out)


def _more(link: Linker) -> str:
    """Links to the generated index pages this site has."""
    items = []
    for uri, text in (
        (MAP, "The map: each core file's role, who imports it and who calls into it"),
        (PAIRS, "Side by side: minivllm next to upstream, by phase"),
        (SOURCES, "Every cited upstream file"),
        (PIN, "The pinned release, and how to re-create the tree"),
    ):
        href = link.href(uri)
        if href:
            items.append(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>')
    return '<h2 id="more">More</h2><ul>' + "".join(items) + "</ul>"


def render_sources_index(
    paths: Sequence[str], grouped: Mapping[str, Sequence[Citation]], n_lines: Mapping[str, int], link: Linker
) -> str:
    """Every source page, grouped by directory, with line and citation counts."""
    esc = html.escape
    out = [
        "<h1>Source files</h1>",
        f"<p>{len(paths)} upstream files: those the notes or minivllm cite, plus any subsystem "
        "configured to be shown whole.</p>",
    ]
    by_dir: dict[str, list[str]] = {}
    for path in sorted(paths):
        by_dir.setdefault(path.rpartition("/")[0] or ".", []).append(path)
    for directory, members in sorted(by_dir.items()):
        rows = "".join(
            f'<tr><td><a href="{esc(link.href(source_uri(p)) or "")}"><code>{esc(p.rpartition("/")[2])}</code></a>'
            f"</td><td>{n_lines.get(p, 0)}</td><td>{len(grouped.get(p, ()))}</td></tr>"
            for p in members
        )
        out.append(
            f"<h2>{esc(directory)}</h2>"
            '<table class="annotate-table"><thead><tr><th>file</th><th>lines</th>'
            f"<th>citations</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    return "\n".join(out)
