"""One build's worth of facts, gathered once, and the renderer of every generated page.

The plugin hands this class the annotation pages mkdocs found; it scans and resolves their
anchors and minivllm's, decides which source and pair pages exist, and afterwards renders any
of them on request with a :class:`~annotator.render.nav.Linker` for the page being written.
Each upstream file is read and highlighted at most once per build.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from annotator.config import Config
from annotator.index import SymbolIndex
from annotator.render import collect, graph_facts
from annotator.render.highlight import highlight_lines
from annotator.render.highlight_cache import highlight_files
from annotator.render.index_pages import render_home, render_sources_index
from annotator.render.model import Citation, CodeSpan, FileFacts, Note, PageInfo, Pair
from annotator.render.nav import HOME, PAIRS, SOURCES, Linker, pair_uri, source_uri
from annotator.render.pair_pages import render_pair_page, render_pairs_index
from annotator.render.pairs import find_pairs
from annotator.render.source_page import render_source


@dataclass(frozen=True)
class Generated:
    """A page the plugin adds: its title, front matter, and how to render its HTML."""

    title: str
    render: Callable[[Linker], str]
    search: bool = True  # False: left out of the search index altogether
    wide: bool = False  # hide the side bars (code pages want the width)


class SiteModel:
    """Citations, pairs and generated pages of one build.

    Args:
        settings: the project's ``[tool.annotate]`` settings.
        index: the upstream tree's index.
        pages: annotation pages (docs-relative path → info), in any order.
        markdown: their markdown, front matter removed, keyed like ``pages``.
        link_only: extra citing pages (map, pin page) whose anchors become links but whose
            sentences are not notes on source pages, keyed like ``pages``.
        doc_prefix: the docs directory relative to the project, to name pages in warnings.
    """

    def __init__(
        self,
        settings: Config,
        index: SymbolIndex,
        pages: Mapping[str, PageInfo],
        markdown: Mapping[str, str],
        link_only: Mapping[str, str] | None = None,
        doc_prefix: str = "",
    ) -> None:
        self.settings = settings
        self.index = index
        self.pages = dict(pages)
        self.project = collect.ProjectFiles(settings.root, settings.cache_dir)
        self._py_text: dict[str, str] = {}  # minivllm files with citations, read once
        self.citations: dict[str, list[Citation]] = {}
        for uri, text in {**markdown, **(link_only or {})}.items():
            doc = posixpath.join(doc_prefix, uri) if doc_prefix and uri in markdown else uri
            self.citations[uri] = collect.page_citations(uri, text, index, doc)
        self._noted = [c for uri in markdown for c in self.citations[uri]]
        self.py_citations = self._python_citations()
        self.pairs = self._find_pairs()
        self.by_path = collect.by_target(self._noted)
        self.source_paths = self._source_paths()
        self._lines: dict[str, list[str]] = {}
        self._mini: dict[str, list[str]] = {}
        self._facts: dict[str, FileFacts] | None = None

    # -- gathering ---------------------------------------------------------------------------

    def _python_citations(self) -> dict[str, list[Citation]]:
        found: dict[str, list[Citation]] = {}
        for path in self.settings.doc_paths():
            if path.suffix != ".py":
                continue
            rel = path.relative_to(self.settings.root).as_posix()
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # verify reports unreadable documents; the site just skips them
            cites = collect.python_citations(rel, text, self.index)
            if cites:
                found[rel] = cites
                self._py_text[rel] = text
        return found

    def _find_pairs(self) -> list[Pair]:
        pairs: list[Pair] = []
        for rel, cites in sorted(self.py_citations.items()):
            fi = self.project.file(rel)
            if fi is None:
                continue
            lines = self._py_text[rel].split("\n")
            pairs.extend(find_pairs(cites, fi, lines, self.index.file))
        return pairs

    def _source_paths(self) -> list[str]:
        paths = set(self.by_path)
        paths.update(p.upstream.path for p in self.pairs)
        for c in (c for cites in self.py_citations.values() for c in cites):
            if c.linkable and c.finding.path:
                paths.add(c.finding.path)
        for directory in self.settings.site.extra_source_dirs:
            prefix = directory.strip("/") + "/"
            paths.update(p for p in self.index.paths if p.startswith(prefix) and p.endswith(".py"))
        return sorted(paths)

    # -- queries -----------------------------------------------------------------------------

    @property
    def broken(self) -> list[Citation]:
        """Broken anchors of the citing pages, in page order: each is a build warning."""
        return [c for uri in sorted(self.citations) for c in self.citations[uri] if c.broken]

    def pair_pages(self) -> dict[str, list[Pair]]:
        """Side-by-side page uri → the pairs it shows (one page per minivllm definition)."""
        grouped: dict[str, list[Pair]] = {}
        for pair in self.pairs:
            grouped.setdefault(pair_uri(pair.mini.path, pair.mini.qualname), []).append(pair)
        return grouped

    def lines(self, path: str) -> list[str]:
        """Highlighted lines of upstream file ``path``; the first call highlights every source page's file."""
        if not self._lines:
            self._lines = highlight_files(self.index.root, self.source_paths, self.settings.cache_dir)
        if path not in self._lines:
            self._lines.update(highlight_files(self.index.root, [path], self.settings.cache_dir))
        return self._lines[path]

    def notes(self, path: str) -> list[Note]:
        """Every note on upstream file ``path``: annotation sentences, then minivllm twins."""
        notes = [self._page_note(c) for c in self.by_path.get(path, ())]
        for pair in self.pairs:
            c = pair.citation
            if c.finding.path == path:
                first, last = c.lines
                title = f"minivllm · {pair.mini.qualname}"
                notes.append(
                    Note(first, last, title, pair_uri(pair.mini.path, pair.mini.qualname), "",
                         pair.mini.summary, c.finding.anchor.label or "", c.finding.status)
                )
        return sorted(notes, key=lambda n: (n.line, n.uri))

    def _page_note(self, c: Citation) -> Note:
        first, last = c.lines
        page = self.pages.get(c.origin)
        title = page.title if page else c.origin
        label = c.finding.anchor.label or ""
        return Note(first, last, title, c.origin, c.element_id, c.excerpt, label, c.finding.status)

    def facts(self, path: str) -> FileFacts:
        """Imports, importers and callers of ``path`` (the graphs are built once, on first use)."""
        if self._facts is None:
            self._facts = graph_facts.facts_for(self.index, self.source_paths)
        return self._facts.get(path, FileFacts())

    def pair_groups(self) -> dict[Pair, list[str]]:
        """Each pair → the phases (page groups) whose notes cite a line of its upstream side."""
        groups: dict[Pair, list[str]] = {}
        for pair in self.pairs:
            up = pair.upstream
            found = {
                self.pages[c.origin].group
                for c in self.by_path.get(up.path, ())
                if c.origin in self.pages and up.start <= c.finding.line <= up.end
            }
            groups[pair] = sorted(g for g in found if g)
        return groups

    def group_titles(self) -> dict[str, str]:
        """Phase directory → its title (the title of its index page when it has one)."""
        titles: dict[str, str] = {}
        for page in sorted(self.pages.values(), key=lambda p: p.uri):
            if page.group and page.uri in (f"{page.group}/index.md", f"{page.group}/README.md"):
                titles[page.group] = page.title
        return titles

    # -- generated pages ---------------------------------------------------------------------

    def generated(self, site_name: str, with_home: bool) -> dict[str, Generated]:
        """Every page this build adds, by docs-relative path."""
        out: dict[str, Generated] = {}
        for path in self.source_paths:
            out[source_uri(path)] = Generated(path, self._source_renderer(path), wide=True)
        for uri, pairs in self.pair_pages().items():
            title = f"minivllm {pairs[0].mini.qualname}"
            out[uri] = Generated(title, self._pair_renderer(pairs), wide=True)
        out[PAIRS] = Generated(
            "Side by side",
            lambda link: render_pairs_index(self.pairs, self.pair_groups(), self.group_titles(), link),
        )
        out[SOURCES] = Generated(
            "Source files",
            lambda link: render_sources_index(
                self.source_paths, self.by_path, {p: self.index.line_count(p) for p in self.source_paths}, link
            ),
        )
        if with_home:
            out[HOME] = Generated(site_name, lambda link: self._home(site_name, link))
        return out

    def _home(self, site_name: str, link: Linker) -> str:
        counts = {
            "source files": len(self.source_paths),
            "side-by-side pairs": len(self.pairs),
            "broken anchors": len(self.broken),
        }
        return render_home(site_name, list(self.pages.values()), self._noted, counts, link)

    def _source_renderer(self, path: str) -> Callable[[Linker], str]:
        def render(link: Linker) -> str:
            return render_source(path, self.lines(path), self.index.file(path), self.notes(path),
                                 self.facts(path), link)

        return render

    def _pair_renderer(self, pairs: list[Pair]) -> Callable[[Linker], str]:
        def up_lines(span: CodeSpan) -> list[str]:
            return self.lines(span.path)[span.start - 1 : span.end]

        def mini_lines(span: CodeSpan) -> list[str]:
            if span.path not in self._mini:
                self._mini[span.path] = highlight_lines(self._py_text[span.path], span.path)
            return self._mini[span.path][span.start - 1 : span.end]

        def up_notes(span: CodeSpan) -> list[Note]:
            return [n for n in self.notes(span.path) if span.start <= n.line <= span.end
                    and not n.uri.startswith("pairs/")]

        def mini_notes(span: CodeSpan) -> list[Note]:
            return [
                Note(c.finding.anchor.doc_line, c.finding.anchor.doc_line, "cites upstream",
                     source_uri(c.finding.path or ""), f"L{c.finding.line}",
                     f"`{c.finding.anchor.text}`", "", c.finding.status)
                for c in self.py_citations.get(span.path, ())
                if span.start <= c.finding.anchor.doc_line <= span.end and c.linkable
            ]

        return lambda link: render_pair_page(pairs, up_lines, mini_lines, up_notes, mini_notes, link)

