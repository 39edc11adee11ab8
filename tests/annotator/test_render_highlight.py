"""Tests for annotator.render.highlight: one Pygments pass, cut into self-contained lines."""

from __future__ import annotations

import re

import pytest
from pygments.token import Token

from annotator.index import count_lines
from annotator.render.highlight import css_class, highlight_lines, lexer_name, normalise_newlines

_TAG_RE = re.compile(r"</?span[^>]*>")


def _balanced(line: str) -> bool:
    depth = 0
    for tag in _TAG_RE.findall(line):
        depth += -1 if tag.startswith("</") else 1
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize(
    "text",
    [
        "x = 1\n",
        "x = 1",
        "\n\n\nx = 1\n\n\n",
        'def f():\n    """A\n    long\n    docstring."""\n    return 1\n',
        "",
        "a\r\nb\r\n",
    ],
)
def test_one_entry_per_line_as_the_index_counts_them(text):
    """The number of highlighted lines equals the index's line count, leading blank lines included."""
    lines = highlight_lines(text, "m.py")
    assert len(lines) == count_lines(normalise_newlines(text).encode())


def test_multiline_tokens_are_closed_on_every_line():
    """A docstring spanning lines yields balanced <span> runs on each line."""
    text = 'def f():\n    """one\n    two\n    three"""\n'
    lines = highlight_lines(text, "m.py")
    assert all(_balanced(line) for line in lines)
    assert lines[2].startswith('<span class="sd">') and "two" in lines[2]


def test_source_text_is_escaped():
    """Markup in upstream source comes out as text, never as tags."""
    text = 'BANNER = "</code><script>alert(1)</script>"\n'
    (line,) = highlight_lines(text, "m.py")
    assert "<script>" not in line and "</code>" not in line
    assert "&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in line


def test_line_text_survives_highlighting():
    """Stripping the tags and unescaping gives back each original line."""
    import html

    text = "import os\n\nclass A(B):\n    x = 'a < b & c'  # note\n"
    lines = highlight_lines(text, "m.py")
    assert [html.unescape(_TAG_RE.sub("", line)) for line in lines] == text.split("\n")[:-1]


def test_keywords_get_pygments_short_classes():
    """Keywords carry Pygments' short class, which the theme colours in both palettes."""
    (line,) = highlight_lines("def f(): pass\n", "m.py")
    assert '<span class="k">def</span>' in line


def test_unknown_file_types_fall_back_to_plain_text():
    """A file no lexer claims is shown escaped, without spans."""
    (line,) = highlight_lines("a <b> c\n", "notes.unknownext")
    assert line == "a &lt;b&gt; c"
    assert lexer_name("notes.unknownext") == "TextLexer"
    assert lexer_name("pkg/mod.py") == "PythonLexer"


def test_css_class_walks_up_to_a_known_parent():
    """A token type without its own short name gets its parent's plus a suffix; text gets none."""
    assert css_class(Token.Keyword) == "k"
    assert css_class(Token.Text) == ""
    assert css_class(Token.Keyword.Made.Up) == "k-Made-Up"
