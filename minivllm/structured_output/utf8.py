"""Keep xgrammar's character classes inside valid UTF-8.

xgrammar 0.2.8 matches a character class against any code point up to
U+10FFFF, surrogates (U+D800–U+DFFF) included. A surrogate's three-byte
encoding is not valid UTF-8, so with a byte-level vocabulary a sampled
"character" can be undecodable (it shows up as U+FFFD and breaks strict
JSON parsing). Every class of a grammar is rewritten here to leave the
surrogate block out: a negated class excludes it too, a positive range
spanning it is split around it. String literals are copied untouched, and
so are ``Regex("...")`` nodes (a JSON schema's ``pattern``), which sit
inside literals.
"""

from __future__ import annotations

SURROGATES = (0xD800, 0xDFFF)
_SIMPLE_ESCAPES = {"n": 0x0A, "r": 0x0D, "t": 0x09, "f": 0x0C, "v": 0x0B, "0": 0x00, "b": 0x08}
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}


def _read_char(text: str, i: int) -> tuple[int, int]:
    """The code point at ``text[i]`` (an escape or a plain character) and the index after it."""
    if text[i] != "\\":
        return ord(text[i]), i + 1
    kind = text[i + 1]
    if kind in _HEX_WIDTH:
        width = _HEX_WIDTH[kind]
        return int(text[i + 2 : i + 2 + width], 16), i + 2 + width
    return _SIMPLE_ESCAPES.get(kind, ord(kind)), i + 2


def _parse_class(text: str, i: int) -> tuple[bool, list[tuple[int, int]], int]:
    """Parse ``[...]`` starting at ``text[i] == "["``: (negated, ranges, index after ``]``)."""
    i += 1
    negated = text[i] == "^"
    i += negated
    ranges = []
    while text[i] != "]":
        lo, i = _read_char(text, i)
        hi = lo
        if text[i] == "-" and text[i + 1] != "]":
            hi, i = _read_char(text, i + 1)
        ranges.append((lo, hi))
    return negated, ranges, i + 1


def _without_surrogates(negated: bool, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges of a class that can no longer match a surrogate code point."""
    if negated:
        return [*ranges, SURROGATES]
    out = []
    for lo, hi in ranges:
        if lo < SURROGATES[0]:
            out.append((lo, min(hi, SURROGATES[0] - 1)))
        if hi > SURROGATES[1]:
            out.append((max(lo, SURROGATES[1] + 1), hi))
    return out


def _escape(cp: int) -> str:
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def _format_class(negated: bool, ranges: list[tuple[int, int]]) -> str:
    body = "".join(_escape(lo) if lo == hi else f"{_escape(lo)}-{_escape(hi)}" for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"


def _skip_literal(text: str, i: int) -> int:
    """Index just after the string literal that starts at ``text[i] == '"'``."""
    i += 1
    while text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def exclude_surrogates(ebnf: str) -> str:
    """Rewrite every character class of an xgrammar EBNF text to exclude U+D800–U+DFFF."""
    out: list[str] = []
    i = 0
    while i < len(ebnf):
        ch = ebnf[i]
        if ch == '"':
            end = _skip_literal(ebnf, i)
            out.append(ebnf[i:end])
            i = end
        elif ch == "[":
            negated, ranges, i = _parse_class(ebnf, i)
            out.append(_format_class(negated, _without_surrogates(negated, ranges)))
        else:
            out.append(ch)
            i += 1
    return "".join(out)
