"""The mkdocs plugin (``plugins: [annotate]``): annotation pages with live anchors, plus generated pages.

Event by event:

* ``on_config`` — read ``[tool.annotate]`` of the project holding mkdocs.yml, open the index of
  the upstream tree, switch raw HTML off in markdown, add the stylesheet;
* ``on_files`` — scan and resolve every anchor of the annotation pages (and of MAP.md and the pin
  page, added as pages) and of minivllm; add the source pages, the side-by-side pages, their
  indexes and a home page; log each broken anchor as a warning (``mkdocs build --strict`` and
  ``annotate build`` fail on them); lay out the navigation unless mkdocs.yml has one;
* ``on_page_markdown`` — swap each anchor for a token; ``on_page_content`` — swap the tokens for
  links, and fill the generated pages with their HTML;
* ``on_page_context`` — hide the code tables from the search plugin (it indexes names and
  notes; parsing every token of every file would double the build time), then put them back;
* ``on_serve`` — also watch minivllm/, MAP.md and the pin page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page
from mkdocs.utils.meta import get_data

from annotator import config as annotate_config
from annotator.errors import AnnotateError
from annotator.index import open_index
from annotator.render import annotation_links as links, since_pin
from annotator.render.since_pin import SINCE
from annotator.render.assets import CSS as CSS_TEXT
from annotator.render.collect import page_citations
from annotator.render.excerpts import plain
from annotator.render.model import Citation, PageInfo
from annotator.render.nav import CSS, MAP, PAIRS, PIN, RESERVED, SOURCES, Linker, build_nav, source_uri
from annotator.render.safe_markdown import SafeMarkdown, safe_meta, safe_text
from annotator.render.site_model import Generated, SiteModel

log = get_plugin_logger("annotate")
_H1_RE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_ID_RE = re.compile(r'\sid="([^"]+)"')
_CODE_RE = re.compile(r'<div class="annotate-src.*?</table></div>', re.DOTALL)


class AnnotateConfig(base.Config):
    """Options under ``plugins: - annotate:`` in mkdocs.yml."""

    project_root = c.Optional(c.Type(str))  # default: the directory holding mkdocs.yml
    # Where the pages live relative to the project, for warnings; default: docs_dir's own path.
    # The built-in configuration (a repository without mkdocs.yml) mirrors the pages elsewhere.
    docs_prefix = c.Optional(c.Type(str))


class AnnotatePlugin(BasePlugin[AnnotateConfig]):
    """Renders the annotation layer over the pinned upstream tree; see the module docstring."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Load the project settings and the index; make markdown safe; add the stylesheet."""
        root = Path(self.config.project_root or Path(config.config_file_path).parent)
        try:
            self.settings = annotate_config.load(root)
        except AnnotateError as exc:
            raise PluginError(str(exc)) from None
        tree = self.settings.upstream_dir
        if not tree.is_dir():
            raise PluginError(f"{tree}: the upstream tree is not there; run `annotate fetch` first")
        self.index = open_index(tree, self.settings.cache_dir)
        config.markdown_extensions.append(SafeMarkdown())
        if CSS not in config.extra_css:
            config.extra_css.append(CSS)
        self.model: SiteModel | None = None
        self.generated: dict[str, Generated] = {}
        self.urls: dict[str, str] = {}
        self.seen: dict[str, str] = {}
        self.placed: dict[str, set[int]] = {}
        self.full_content: dict[str, str] = {}
        return config

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        """Gather citations and pairs, log broken anchors, add every generated page."""
        pages, markdown = self._annotation_pages(files)
        link_only = self._add_project_pages(files, config)
        docs_prefix = self.config.docs_prefix
        if docs_prefix is None:
            docs_prefix = _relative(Path(config.docs_dir), self.settings.root)
        self.model = model = SiteModel(self.settings, self.index, pages, markdown, link_only, docs_prefix)
        self.seen = {**markdown, **link_only}
        for cite in model.broken:
            a, f = cite.finding.anchor, cite.finding
            log.warning(f"{a.doc}:{a.doc_line}:{a.doc_col}: {f.status}: {f.message}")
        home = files.get_file_from_path("index.md") is None
        self.generated = model.generated(config.site_name, with_home=home)
        for uri, page in self.generated.items():
            if files.get_file_from_path(uri) is not None:
                raise PluginError(f"{config.docs_dir}/{uri}: this page is generated by annotate; rename yours")
            hidden = uri.startswith(RESERVED) and uri not in (SOURCES, PAIRS)
            inclusion = InclusionLevel.NOT_IN_NAV if hidden else InclusionLevel.UNDEFINED
            files.append(File.generated(config, uri, content=_stub(page), inclusion=inclusion))
        files.append(File.generated(config, CSS, content=CSS_TEXT))
        self.urls = {f.src_uri: f.url for f in files.documentation_pages()}
        if config.nav is None:
            extras = {t: u for t, u in (("Map", MAP), ("Side by side", PAIRS), ("Source files", SOURCES),
                                          ("Pinned release", PIN), ("Since the pin", SINCE)) if u in self.urls}
            config.nav = build_nav(list(pages.values()), extras)
        return files

    def _annotation_pages(self, files: Files) -> tuple[dict[str, PageInfo], dict[str, str]]:
        pages: dict[str, PageInfo] = {}
        markdown: dict[str, str] = {}
        for f in files.documentation_pages():
            if f.generated_by:
                continue
            text, _ = get_data(f.content_string)
            markdown[f.src_uri] = text
            group = f.src_uri.split("/")[0] if "/" in f.src_uri else ""
            pages[f.src_uri] = PageInfo(f.src_uri, page_title(text, f.name), group)
        return pages, markdown

    def _add_project_pages(self, files: Files, config: MkDocsConfig) -> dict[str, str]:
        """MAP.md, the pin page and the saved review report become pages of the site when they exist."""
        added: dict[str, str] = {}
        since = (SINCE, since_pin.report_file(self.settings.root))
        for uri, path in ((MAP, self.settings.map_out), (PIN, self.settings.pin_page), since):
            if path is None or not path.is_file() or files.get_file_from_path(uri) is not None:
                continue
            content = _project_links(path.read_text("utf-8"), self.settings)
            files.append(File.generated(config, uri, content=content))
            added[uri] = get_data(content)[0]
        return added

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        """Sanitise the front matter; swap each anchor of a citing page for its token."""
        page.meta = safe_meta(page.meta)
        uri = page.file.src_uri
        if self.model is None or uri not in self.model.citations:
            return markdown
        if markdown != self.seen.get(uri):  # another plugin changed the page: read it again
            self.model.citations[uri] = page_citations(uri, markdown, self.index, uri)
        anchors = [cite.finding.anchor for cite in self.model.citations[uri]]
        marked, self.placed[uri] = links.mark(markdown, anchors)
        return marked

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        """Fill generated pages; turn tokens into links; make the title safe to print unescaped."""
        uri = page.file.src_uri
        link = Linker(page.url, self.urls)
        texts: dict[int, str] = {}
        if uri in self.generated:
            html = self.generated[uri].render(link)
            page.present_anchor_ids = set(_ID_RE.findall(html))
        elif self.model is not None and uri in self.model.citations:
            cites = self.model.citations[uri]
            placed = self.placed.get(uri, set())
            texts = {n: cites[n].finding.anchor.text for n in placed}
            html = links.substitute(
                html, lambda n: links.anchor_html(cites[n], _href(cites[n], link)) if n in placed else None
            )
            links.fix_toc(page.toc, texts)
            html = links.link_paths(html, lambda path: link.href(source_uri(path)))
            page.present_anchor_ids = (page.present_anchor_ids or set()) | {cites[n].element_id for n in placed}
        if page.title:
            page.title = safe_text(links.substitute(page.title, lambda n: texts.get(n)))
        return html

    @event_priority(50)
    def _before_search(self, context, /, *, page: Page, config: MkDocsConfig, nav):
        """Search indexes names and notes, not code: hide the code tables while it reads the page."""
        if page.file.src_uri in self.generated and page.content:
            self.full_content[page.file.src_uri] = page.content
            page.content = _CODE_RE.sub("", page.content)
        return context

    @event_priority(-50)
    def _after_search(self, context, /, *, page: Page, config: MkDocsConfig, nav):
        full = self.full_content.pop(page.file.src_uri, None)
        if full is not None:
            page.content = full
        return context

    on_page_context = CombinedEvent(_before_search, _after_search)

    def on_serve(self, server, /, *, config: MkDocsConfig, builder):
        """Rebuild when minivllm, MAP.md or the pin page change, not only the docs directory."""
        for path in self._watched():
            server.watch(str(path))
        return server

    def _watched(self) -> list[Path]:
        tops = {pattern.split("/")[0] for pattern in self.settings.docs if "/" in pattern}
        paths = [self.settings.root / top for top in sorted(tops)]
        paths += [p for p in (self.settings.map_out, self.settings.pin_page) if p is not None]
        return [p for p in paths if p.exists()]

    @property
    def broken(self) -> list[Citation]:
        """Broken anchors of the last build (``annotate build --strict`` fails on any)."""
        return self.model.broken if self.model is not None else []


def page_title(markdown: str, fallback: str) -> str:
    """A page's title from its first level-1 heading, as plain text safe to print unescaped."""
    m = _H1_RE.search(markdown)
    text = plain(m.group(1)).replace("`", "") if m else fallback.replace("-", " ").capitalize()
    return safe_text(text)


def _href(cite: Citation, link: Linker) -> str | None:
    if not cite.linkable or not cite.finding.path:
        return None
    return link.href(source_uri(cite.finding.path), f"L{cite.finding.line}")


def _stub(page: Generated) -> str:
    """Front matter of a generated page; the body is filled in ``on_page_content``."""
    meta = [f"title: {json.dumps(safe_text(page.title))}"]
    if page.wide:
        meta.append("hide:\n  - navigation\n  - toc")
    if not page.search:
        meta.append("search:\n  exclude: true")
    return "---\n" + "\n".join(meta) + "\n---\n"


def _project_links(markdown: str, settings: annotate_config.Config) -> str:
    """Links between project files (``[pin](UPSTREAM_PIN.md)``) pointed at their pages instead."""
    for path, uri in ((settings.pin_page, PIN), (settings.map_out, MAP)):
        if path is not None:
            markdown = markdown.replace(f"]({path.name})", f"]({uri})").replace(f"]({path.name}#", f"]({uri}#")
    return markdown


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
