"""Annotation markdown cannot inject HTML or script into the site.

Course notes are written by many hands and rendered next to a search box on a public site, so
the markdown is treated as text with formatting, never as HTML:

* raw HTML (block and inline) is switched off: ``<script>`` in prose comes out as the visible
  text ``<script>``;
* after rendering, every element keeps only harmless attributes, and a link or image whose URL
  uses a script-capable scheme (``javascript:``, ``vbscript:``, ``data:``) loses it;
* titles and front-matter strings, which mkdocs themes print without escaping, are stripped of
  the characters that could open a tag or an attribute (:func:`safe_text`).
"""

from __future__ import annotations

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
_UNSAFE_URL_RE = re.compile(r"^\s*(?:javascript|vbscript|data|file)\s*:", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]+")
_TEXT_MAP = str.maketrans({"<": "‹", ">": "›", "&": "＆", '"': "”", "'": "’"})


def safe_url(url: str) -> bool:
    """False for URLs a browser would run as script (control characters are ignored, as browsers do)."""
    return not _UNSAFE_URL_RE.match(_CONTROL_RE.sub("", url))


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
    """Keeps only :data:`SAFE_ATTRIBUTES` and blanks unsafe URLs (attr_list could add anything)."""

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            for key in list(el.attrib):
                value = el.attrib[key]
                if key not in SAFE_ATTRIBUTES:
                    del el.attrib[key]
                elif key in URL_ATTRIBUTES and not safe_url(value):
                    el.attrib[key] = "#unsafe-link-removed"
        return None
