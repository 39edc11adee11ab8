"""Citations in Python source: comments and docstrings only, never code.

minivllm cites its upstream counterparts as ``# upstream: vllm/v1/core/block_pool.py:333 —
BlockPool.get_new_blocks()`` or in a docstring. :mod:`tokenize` (C-speed, no parse tree) tells
comments and statement-level strings apart from code, so ``x[1:2]`` or ``"a.py:3"`` in an
expression is never read. A run of comments on consecutive lines, or one docstring, is a block
for continuations. A file the tokenizer gives up on is read up to that point; after it, only
lines that start with ``#`` are scanned.
"""

from __future__ import annotations

import io
import tokenize

from annotator.anchors.context import DocumentContext
from annotator.anchors.grammar import ANCHOR_RE, scan_line
from annotator.records import Anchor

_QUIET = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.ENCODING})
_STATEMENT_START = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})


def scan_python(text: str, doc: str) -> list[Anchor]:
    """Every citation in the comments and docstrings of one Python file, in order."""
    ctx = DocumentContext(doc)
    if ANCHOR_RE.search(text) is None:  # no path anywhere: skip the (pure-Python) tokenizer
        return ctx.anchors
    tokens, stopped_at = _tokens(text)
    last_comment_row = -2
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            if tok.start[0] != last_comment_row + 1:
                ctx.end_block()
            _scan_token(ctx, tok)
            last_comment_row = tok.start[0]
        elif tok.type == tokenize.STRING and _is_doc_string(tokens, i):
            ctx.end_block()
            _scan_token(ctx, tok)
            ctx.end_block()
    if stopped_at is not None:
        _scan_comment_lines(ctx, text.split("\n"), stopped_at)
    return ctx.anchors


def _tokens(text: str) -> tuple[list[tokenize.TokenInfo], int | None]:
    """The tokens, and the first row not tokenized when the tokenizer stopped on an error."""
    tokens: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            tokens.append(tok)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return tokens, (tokens[-1].end[0] + 1 if tokens else 1)
    return tokens, None


def _is_doc_string(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    """A string that is a whole statement: a docstring, or a bare string used as a comment."""
    j = i - 1
    while j >= 0 and tokens[j].type in _QUIET:
        j -= 1
    if j >= 0 and tokens[j].type not in _STATEMENT_START:
        return False
    k = i + 1
    while k < len(tokens) and tokens[k].type == tokenize.COMMENT:
        k += 1
    return k >= len(tokens) or tokens[k].type in (tokenize.NEWLINE, tokenize.ENDMARKER)


def _scan_token(ctx: DocumentContext, tok: tokenize.TokenInfo) -> None:
    """Scan a token's text line by line; offsets map back to the file because it is verbatim."""
    row, col = tok.start
    text = _mask_quotes(tok.string) if tok.type == tokenize.STRING else tok.string
    for k, part in enumerate(text.split("\n")):
        line = " " * (col if k == 0 else 0) + part.rstrip("\r")
        for cite in scan_line(line):
            ctx.add(row + k, line, cite)


def _mask_quotes(literal: str) -> str:
    """Blank a string literal's prefix and quotes (same length), so a label stops before them."""
    body = literal.lstrip("rRbBuUfF")
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    head = len(literal) - len(body) + len(quote)
    if len(literal) < head + len(quote):
        return literal
    return " " * head + literal[head : len(literal) - len(quote)] + " " * len(quote)


def _scan_comment_lines(ctx: DocumentContext, lines: list[str], first_row: int) -> None:
    ctx.end_block()
    for row in range(first_row, len(lines) + 1):
        line = lines[row - 1].rstrip("\r")
        stripped = line.lstrip()
        if not stripped.startswith("#"):
            ctx.end_block()
            continue
        pad = len(line) - len(stripped)
        for cite in scan_line(" " * pad + stripped):
            ctx.add(row, line, cite)
