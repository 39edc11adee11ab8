"""Where every generated page lives, how pages link to each other, and the site's navigation.

Pages are named by their docs-relative source path (``source/vllm/v1/core/block_pool.py.md``),
exactly as mkdocs names files; :class:`Linker` turns such a name into an href relative to the
page being written, so the same renderer works with and without ``use_directory_urls``.

The navigation lists the reading material (home, phases, map, pairs, sources, pin); the
hundreds of source and pair pages stay out of it and are reached through their index pages
and through the links in the notes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import quote

from mkdocs.utils import get_relative_url

from annotator.render.model import PageInfo

HOME = "index.md"
MAP = "map.md"
PIN = "upstream-pin.md"
SOURCES = "source/index.md"
PAIRS = "pairs/index.md"
CSS = "assets/annotate.css"
RESERVED = ("source/", "pairs/", "assets/annotate")
# mkdocs treats these stems as a directory's index page; a cited file with such a name gets a
# suffix so it cannot collide with the index of its directory.
_INDEX_STEMS = frozenset({"index", "README"})


def source_uri(path: str) -> str:
    """The source page of upstream file ``path`` (tree-relative)."""
    stem = posixpath.basename(path)
    return f"source/{path}{'_' if stem in _INDEX_STEMS else ''}.md"


def pair_uri(mini_path: str, qualname: str) -> str:
    """The side-by-side page of minivllm definition ``qualname`` in ``mini_path``."""
    return f"pairs/{mini_path}/{qualname or 'module'}.md"


class Linker:
    """Relative hrefs from one page to the others.

    Args:
        here: the site-relative URL of the page being written (``phase-01/``).
        urls: docs-relative source path → site-relative URL of every page in the site.
    """

    def __init__(self, here: str, urls: Mapping[str, str]) -> None:
        self.here = here
        self.urls = urls

    def href(self, uri: str, fragment: str = "") -> str | None:
        """The href of page ``uri`` (with ``#fragment``), or None if the site has no such page."""
        url = self.urls.get(uri)
        if url is None:
            return None
        rel = get_relative_url(url, self.here)
        return f"{rel}#{quote(fragment)}" if fragment else rel


def build_nav(pages: list[PageInfo], extras: Mapping[str, str]) -> list:
    """The ``nav`` for mkdocs: home, one section per phase, then the generated index pages.

    Args:
        pages: the citing pages of docs_dir (annotations), any order.
        extras: title → uri of generated top-level pages that exist (map, pairs, sources, pin).
    """
    groups: dict[str, list[PageInfo]] = {}
    for page in sorted(pages, key=page_order):
        groups.setdefault(page.group, []).append(page)
    nav: list = [{"Home": HOME}]
    for page in groups.pop("", []):
        if page.uri != HOME:
            nav.append({page.title: page.uri})
    for group in sorted(groups):
        members = groups[group]
        title = members[0].title if _is_index(members[0].uri, group) else _pretty(group)
        nav.append({title: [m.uri for m in members]})
    nav.extend({title: uri} for title, uri in extras.items())
    return nav


def page_order(page: PageInfo) -> tuple[str, int, str]:
    """Reading order: by directory, a directory's index page first, then by path."""
    return page.group, 0 if _is_index(page.uri, page.group) else 1, page.uri


def _is_index(uri: str, group: str) -> bool:
    return uri in (f"{group}/index.md", f"{group}/README.md")


def _pretty(directory: str) -> str:
    return directory.replace("-", " ").replace("_", " ").capitalize()
