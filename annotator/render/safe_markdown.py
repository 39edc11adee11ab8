"""Annotation markdown cannot inject HTML or script into the site.

Course notes are written by many hands and rendered next to a search box on a public site, so
the markdown is treated as text with formatting, never as HTML:

* raw HTML (block and inline) is switched off: ``<script>`` in prose comes out as the visible
  text ``<script>``;
* after rendering, every element keeps only harmless attributes, and a link or image keeps its
  URL only when it is relative, an in-page ``#`` fragment, or uses ``http``, ``https`` or
  ``mailto`` (an allow-list: ``javascript:``, ``vbscript:``, ``data:`` and any scheme nobody
  thought of are refused; such a link becomes plain text). The scheme is read the way a browser reads it: character references
  decoded (repeatedly, as the attribute may be escaped more than once on its way out), control
  characters and whitespace removed — ``java&#115;cript:`` is ``javascript:``;
* titles and front-matter strings, which mkdocs themes print without escaping, are stripped of
  the characters that could open a tag or an attribute (:func:`safe_text`).
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.etree import ElementTree as etree

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor

SAFE_ATTRIBUTES = frozenset(
    {"id", "class", "href", "src", "alt", "title", "colspan", "rowspan", "align", "start",
     "width", "height", "lang", "dir", "rel", "name", "type", "open", "checked", "disabled",
     "for", "role", "rev"}
)
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f-\x9f\s]+")
_FIRST_SEGMENT_RE = re.compile(r"[^/?#]*")
_MAX_DECODES = 8
_TEXT_MAP = str.maketrans({"<": "‹", ">": "›", "&": "＆", '"': "”", "'": "’"})


def safe_url(url: str) -> bool:
    """True for relative URLs, ``#`` fragments and the :data:`SAFE_SCHEMES`; False for any other scheme.

    A colon before the first ``/``, ``?`` or ``#`` names a scheme, as it does for a browser.
    """
    decoded = _decoded(url)
    if decoded is None:
        return False
    first = _FIRST_SEGMENT_RE.match(decoded).group()  # type: ignore[union-attr]
    scheme, colon, _ = first.partition(":")
    return not colon or scheme.lower() in SAFE_SCHEMES


def _decoded(url: str) -> str | None:
    """``url`` with character references decoded until nothing changes, control characters gone.

    None when it is still changing after :data:`_MAX_DECODES` rounds: no honest URL is escaped
    that often, and refusing it keeps the check linear.
    """
    for _ in range(_MAX_DECODES):
        previous, url = url, _CONTROL_RE.sub("", html.unescape(url))
        if url == previous:
            return url
    return None


def safe_text(text: str) -> str:
    """``text`` without the characters that open markup, for places themes print unescaped."""
    return text.translate(_TEXT_MAP)


def safe_meta(value: Any) -> Any:
    """Front matter with every string passed through :func:`safe_text`, recursively."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [safe_meta(v) for v in value]
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_meta(v) for k, v in value.items()}
    return value


class SafeMarkdown(Extension):
    """Python-Markdown extension: no raw HTML, no script URLs, no event-handler attributes."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Python-Markdown's name
        """Drop the raw-HTML processors and add the attribute filter near the end of the tree pass."""
        if "html_block" in md.preprocessors:
            md.preprocessors.deregister("html_block")
        if "html" in md.inlinePatterns:
            md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_AttributeFilter(md), "annotate_safe_attributes", 2)


class _AttributeFilter(Treeprocessor):
    """Keeps only :data:`SAFE_ATTRIBUTES` and drops unsafe URLs (attr_list could add anything)."""

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            for key in list(el.attrib):
                if key not in SAFE_ATTRIBUTES:
                    del el.attrib[key]
                elif key in URL_ATTRIBUTES and not safe_url(el.attrib[key]):
                    _defuse(el)
        return None


def _defuse(el: etree.Element) -> None:
    """A link or image with an unsafe URL becomes a plain ``<span>`` of its text (or alt text).

    Removing only the URL is not enough: mkdocs requires every ``<a>`` to have an ``href``.
    """
    if el.tag == "img" and not el.text:
        el.text = el.get("alt", "")
    keep = {k: v for k, v in el.attrib.items() if k in ("id", "class", "title")}
    el.attrib.clear()
    el.attrib.update(keep)
    el.set("class", (keep.get("class", "") + " annotate-unsafe-link").strip())
    el.tag = "span"
