"""Pygments, one pass per file, cut into lines whose HTML stands alone.

Source pages put each line in its own table row (so ``#L333`` can target it), which needs every
line's markup to be balanced: a docstring spanning twenty lines must become twenty closed
``<span class="sd">`` runs. Pygments' own line splitting lives in a private method, so the
token stream is cut here instead. The CSS classes are Pygments' short names (``k``, ``nf``,
``sd`` …), which mkdocs-material already colours for both the light and the dark palette.

Everything from the file is escaped: upstream text can never become markup.
"""

from __future__ import annotations

import html
import posixpath
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import TextLexer, find_lexer_class_for_filename
from pygments.token import STANDARD_TYPES, _TokenType

# Files bigger than this are shown as plain text: a lexer on megabytes of generated data buys
# nothing for a reader and costs seconds of build time.
MAX_HIGHLIGHT_BYTES = 1_500_000


def highlight_lines(text: str, filename: str) -> list[str]:
    """HTML of each line of ``text`` (one entry per line, no newlines), highlighted for ``filename``.

    The number of entries equals the file's line count as the index counts it (newlines, plus
    one for a last line without a newline), so entry ``n - 1`` is line ``n``.
    """
    text = normalise_newlines(text)
    if not text:
        return []
    lexer = _lexer(filename, len(text))
    classes: dict[_TokenType, str] = {}
    lines: list[str] = []
    runs: list[tuple[str, str]] = []  # (css class, escaped text) of the current line
    for ttype, value in lexer.get_tokens(text):
        cls = classes.get(ttype)
        if cls is None:
            cls = classes[ttype] = css_class(ttype)
        parts = value.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append(_join(runs))
                runs = []
            if part:
                escaped = html.escape(part, quote=False)
                if runs and runs[-1][0] == cls:
                    runs[-1] = (cls, runs[-1][1] + escaped)
                else:
                    runs.append((cls, escaped))
    if runs:
        lines.append(_join(runs))
    expected = text.count("\n") + (0 if text.endswith("\n") else 1)
    return lines[:expected] + [""] * (expected - len(lines))


def normalise_newlines(text: str) -> str:
    """``\\r\\n`` → ``\\n``; a lone ``\\r`` is dropped, because the index does not count it as a line."""
    return text.replace("\r\n", "\n").replace("\r", "")


def css_class(ttype: _TokenType) -> str:
    """Pygments' short class for a token type ("" for plain text), walking up to a known parent."""
    suffix = ""
    while ttype not in STANDARD_TYPES:
        suffix = f"-{ttype[-1]}{suffix}"
        ttype = ttype.parent
    short = STANDARD_TYPES[ttype]
    if short == "w" and not suffix:  # whitespace: no colour, so no span
        return ""
    return f"{short}{suffix}" if short else ""


def lexer_name(filename: str) -> str:
    """Name of the lexer used for ``filename`` (part of the highlight cache key)."""
    return lexer_class(_lookup_key(filename)).__name__


def _lexer(filename: str, size: int) -> Lexer:
    options = {"stripnl": False, "ensurenl": True}
    if size > MAX_HIGHLIGHT_BYTES:
        return TextLexer(**options)
    return lexer_class(_lookup_key(filename))(**options)


def _lookup_key(filename: str) -> str:
    """What the lexer choice depends on: the suffix, or the whole name when there is none."""
    base = posixpath.basename(filename)
    stem, dot, suffix = base.rpartition(".")
    return f"x.{suffix}" if dot and stem and base != "CMakeLists.txt" else base


@lru_cache(maxsize=256)
def lexer_class(name: str) -> type[Lexer]:
    """The lexer class for a file name; looking it up scans every lexer, so it is memoised."""
    return find_lexer_class_for_filename(name) or TextLexer


def _join(runs: list[tuple[str, str]]) -> str:
    return "".join(f'<span class="{cls}">{text}</span>' if cls else text for cls, text in runs)
