"""Tests for annotator.render.safe_markdown: annotation markdown cannot inject HTML or script."""

from __future__ import annotations

import markdown
import pytest

from annotator.render.safe_markdown import SafeMarkdown, safe_meta, safe_text, safe_url


def _md(text: str, *extensions) -> str:
    return markdown.markdown(text, extensions=[*extensions, SafeMarkdown()])


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "text <script>alert(1)</script> more",
        '<div onclick="alert(1)">x</div>',
        'an <img src=x onerror="alert(1)"> image',
        "<!-- <script>alert(1)</script> -->",
    ],
)
def test_raw_html_is_shown_as_text(source):
    """Block and inline HTML come out escaped: no tag from the document survives."""
    out = _md(source)
    assert "<script" not in out and "<div" not in out and "<img" not in out
    assert "&lt;" in out


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "![x](vbscript:msgbox)",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_script_urls_are_removed(source):
    """Links and images whose URL would run script lose the URL."""
    out = _md(source)
    assert "javascript" not in out.lower().replace("\t", "") and "vbscript" not in out
    assert "data:text" not in out


def test_attr_list_cannot_add_event_handlers():
    """Attributes added with attr_list are filtered: handlers go, classes stay."""
    out = _md('# Title {: onclick="alert(1)" .keep style="x" }', "attr_list")
    assert "onclick" not in out and "style" not in out and 'class="keep"' in out


def test_ordinary_markdown_still_renders():
    """Safe markdown keeps links, code, emphasis and tables."""
    out = _md("A [link](https://example.org) with `code` and *em*.\n\n| a |\n|---|\n| b |", "tables")
    assert '<a href="https://example.org">link</a>' in out
    assert "<code>code</code>" in out and "<em>em</em>" in out and "<table>" in out


def test_safe_url_accepts_ordinary_urls():
    """Relative, fragment, http(s) and mailto URLs are kept."""
    for url in ("../a/", "#L3", "https://x.org/a?b=c", "mailto:a@b.c", "page.md#x"):
        assert safe_url(url)
    assert not safe_url(" javascript:alert(1)")


def test_safe_text_removes_markup_characters():
    """Titles printed unescaped by the theme cannot open a tag or an attribute."""
    out = safe_text("</title><script>alert(\"x\") & 'y'</script>")
    assert not set(out) & set("<>&\"'")


def test_safe_meta_cleans_nested_front_matter():
    """Every string of the front matter, however nested, is made safe; other values stay."""
    meta = {"title": "<b>", "tags": ["<i>", 3], "search": {"boost": 2, "x": '"'}}
    assert safe_meta(meta) == {"title": "‹b›", "tags": ["‹i›", 3], "search": {"boost": 2, "x": "”"}}


@pytest.mark.parametrize(
    "source",
    [
        "[x](java&#115;cript:alert&#40;1&#41;)",
        "[x](javascript&#58;alert(1))",
        "[x](&#x6A;avascript:alert(1))",
        "[x](&#X6a;avascript&colon;alert(1))",
        "[x](java&Tab;script:alert(1))",
        "[x](java&NewLine;script:alert(1))",
        "[x](jav&amp;#x61;script:alert(1))",
        "[x](&#0000106avascript:alert(1))",
        "[x][r]\n\n[r]: java&#115;cript:alert(1)",
        "[x][r]\n\n[r]: &#x6A;avascript&#58;alert(1)",
        "![x](java&#115;cript:alert(1))",
        "[x](vbscript&#58;msgbox)",
        "[x](&#100;ata:text/html,x)",
        "[x](\x01javascript:alert(1))",
        "[x](JAVA\x0bSCRIPT:alert(1))",
    ],
)
def test_script_urls_hidden_in_character_references_are_removed(source):
    """A scheme spelled with character references, control characters or whitespace is still refused."""
    out = _md(source)
    assert "href=" not in out and "src=" not in out  # the URL is gone, the link text stays
    assert "cript" not in out.lower() and "ata:" not in out


@pytest.mark.parametrize(
    "url",
    ["javascript:x", "about:blank", "ftp://x.org/a", "x-custom:1", "tel:123", "blob:https://x", "java&#115;cript:1"],
)
def test_safe_url_allows_only_listed_schemes(url):
    """Only http, https and mailto schemes pass; any other scheme is refused, known or not."""
    assert not safe_url(url)


def test_safe_url_refuses_endlessly_escaped_urls():
    """A URL still decoding after a few rounds is refused rather than decoded for ever."""
    assert safe_url("&" + "amp;" * 3 + "#x2F;a:b")  # decodes to the relative "/a:b"
    assert not safe_url("&" + "amp;" * 50 + "#x2F;a:b")
    assert safe_url("a&amp;b.html")
