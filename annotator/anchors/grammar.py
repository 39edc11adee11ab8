"""The anchor grammar on one line of text: where citations are, and which characters name what.

Both document scanners (markdown in :mod:`annotator.anchors.markdown`, Python comments and
docstrings in :mod:`annotator.anchors.python`) cut their input into lines and hand each line
here; block-level context (continuations, table labels, the nearest full path) is theirs.

The forms, all recognised inside or outside backticks::

    vllm/v1/core/block_pool.py:333 — BlockPool.get_new_blocks()   em/en dash, --, -, spaces optional
    upstream/vllm/v1/core/block_pool.py:333                          upstream/ = the tree root
    kv_cache_utils.py:116                                            a basename
    scheduler.py:390–392   scheduler.py:390-392   scheduler.py:L390-L392   scheduler.py L390-L392
    :443 — preemption loop                                           a continuation (no path)
    [text](../upstream/vllm/v1/core/block_pool.py#L333-L352)         a link into the tree

A path must end in a source-like extension (:data:`EXTENSIONS`) and be followed directly by
``:`` (or `` L``) and a line number of ASCII digits (any count, or a minus sign and digits: such
numbers are kept for the resolver to report as out of range, never dropped), so ``http://host:8000``, ``a.py:`` with no number, times such
as ``12:30``, slices ``x[1:2]`` and versions such as ``setup.py:1.2`` are not citations. URLs are
blanked before scanning, and links whose target is not inside ``upstream/`` are ignored; a bare
``path#L12`` outside a link is a URL fragment (often a URL wrapped over two comment lines), not a
citation.

Spans are the characters a rebase may rewrite: ``path_span`` covers the tree-relative path only
(an ``upstream/`` prefix stays outside it) and ``line_span`` runs from the first digit of the
first line number to the last digit of the last, so a range keeps its own separator style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotator.anchors.text import DASHES, CodeSpans, label_at, link_label

EXTENSIONS = (
    "py", "pyi", "pyx", "md", "rst", "cu", "cuh", "cpp", "cc", "cxx", "c", "h", "hpp", "hxx",
    "inl", "cmake", "txt", "toml", "yaml", "yml", "json", "jsonl", "sh", "cfg", "ini", "in",
    "jinja", "j2", "tpl", "proto", "rs", "go", "js", "ts", "html", "css", "metal",
)  # fmt: skip
_EXT = "|".join(sorted(EXTENSIONS, key=len, reverse=True))
_FILE = rf"(?:\.?[\w+-][\w.+-]*\.(?:{_EXT})|Dockerfile|Makefile)"
# ASCII digits only, any count (a number past the file is reported, not ignored); a hyphen, en dash
# or one of their lookalikes joins a range, an em dash (or lookalike) still starts a label
_RANGE_DASH = "[-\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d]"
_LINES = rf"(?P<l1>[0-9]+)(?:{_RANGE_DASH}L?(?P<l2>[0-9]+))?(?![\w]|\.\d|{_RANGE_DASH}[0-9])"

ANCHOR_RE = re.compile(
    rf"(?<![\w./~+-])(?P<path>(?:~?/)?(?:[\w.+-]+/)*{_FILE})(?::L?(?P<minus>[-\u2212])?| L(?=[0-9])){_LINES}"
)
CONTINUATION_RE = re.compile(rf":L?{_LINES}")
_HIT_RE = re.compile(rf"(?:\.(?:{_EXT})|Dockerfile|Makefile)(?::L?[-\u2212]?| L)[0-9]")
_PATH_RUN_RE = re.compile(r"[\w./~+-]*")  # matched on the reversed line: the word before a hit
LINK_RE = re.compile(  # link text holds no "[": a failed try stops at the next bracket
    r"!?\[(?P<text>[^\[\]\n]*)\]\(\s*<?(?P<target>[^()\s<>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_LINK_TARGET_RE = re.compile(rf"(?P<path>(?:[\w.+-]+/)*{_FILE})(?:\?[^#]*)?#L{_LINES}$")
URL_RE = re.compile(  # tried once per word, not from each of its letters; an address has one "@"
    r"(?<![A-Za-z0-9+.-])[0-9+.-]*(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s<>`\"')\]]*)"
    r"|(?P<mail><[^<>\s@]+@[^<>\s]+>)"
)
_UPSTREAM_RE = re.compile(r"(?:^|/)upstream/")
_CONT_BEFORE = frozenset(" \t(`|,;")
_CONT_AFTER = frozenset(" \t`),;|." + DASHES)
_MAX_LINE = 10**18  # stands for a number too long to be any file's line (int() refuses 4,300 digits)


@dataclass(frozen=True, slots=True)
class Cite:
    """One citation on a line, before the document scanner adds its context.

    ``start``/``end`` bound the raw text; ``path`` is None for a continuation (the document
    scanner supplies the file), ``label`` None when none is written.
    """

    start: int
    end: int
    path: str | None
    path_span: tuple[int, int] | None
    line: int
    line_end: int | None
    line_span: tuple[int, int]
    label: str | None


def scan_line(line: str) -> list[Cite]:
    """Every citation on ``line`` (links, paths, continuations), in order of position.

    A hit that starts inside an earlier citation (its label, usually) is part of that citation;
    it is dropped before its own label is read, which keeps a line of many hits linear.
    """
    if ":" not in line and " L" not in line and "#L" not in line:
        return []
    spans = CodeSpans(line)
    cites: list[Cite] = []
    text = line
    if "](" in line:
        cites, text = _links(line, spans)
    if "://" in text or "@" in text:
        text = URL_RE.sub(_blank_url, text)
    cover = _Cover(cites)
    for m in _path_matches(text):
        if not cover.covers(m.start()):
            _keep(cites, cover, _path_cite(line, m, spans))
    if len(cites) > 1:
        cites.sort(key=lambda c: c.start)
    cover = _Cover(cites)
    for m in CONTINUATION_RE.finditer(text):  # `:12../a.py:3`: the ":12" is inside the path, not one
        if not cover.covers(m.start()) and m.end() <= cover.next_start():
            _keep(cites, cover, _continuation(line, m, spans))
    if len(cites) > 1:
        cites.sort(key=lambda c: c.start)
    return cites


def _blank_url(m: re.Match[str]) -> str:
    """The URL's characters as blanks (digits or signs before its scheme stay)."""
    url = "url" if m.group("url") else "mail"
    return m.group()[: m.start(url) - m.start()] + " " * (m.end() - m.start(url))


class _Cover:
    """Is a position inside one of the citations so far? Asked in increasing order: O(1) amortised.

    A citation added after a question starts at or before the position asked (a hit's citation
    starts at the hit, or at the backtick that opens its code span), so only its end matters.
    """

    def __init__(self, cites: list[Cite]) -> None:
        self._cites = list(cites)  # sorted by start
        self._next = 0
        self._end = -1

    def covers(self, pos: int) -> bool:
        while self._next < len(self._cites) and self._cites[self._next].start <= pos:
            self._end = max(self._end, self._cites[self._next].end)
            self._next += 1
        return pos < self._end

    def next_start(self) -> int:
        """Where the first citation not yet passed starts (the line's end stands in for none)."""
        return self._cites[self._next].start if self._next < len(self._cites) else 1 << 62

    def add(self, cite: Cite) -> None:
        self._end = max(self._end, cite.end)


def _keep(cites: list[Cite], cover: _Cover, cite: Cite | None) -> None:
    if cite is not None:
        cites.append(cite)
        cover.add(cite)


def _path_matches(text: str) -> list[re.Match[str]]:
    """:data:`ANCHOR_RE` matches, found fast: a cheap search for ``.ext:N`` first, then the
    full pattern from the start of the word that holds it (a regex that may start anywhere
    costs ten times more on a line of prose)."""
    found: list[re.Match[str]] = []
    backwards = ""
    for hit in _HIT_RE.finditer(text):
        backwards = backwards or text[::-1]
        run = _PATH_RUN_RE.match(backwards, len(text) - hit.start())
        t = hit.start() - (run.end() - run.start())  # type: ignore[union-attr]
        m = ANCHOR_RE.match(text, t) or ANCHOR_RE.search(text, t, hit.end() + 8)
        fresh = not found or m is not None and m.start() >= found[-1].end()
        if m is not None and m.start() <= hit.start() < m.end() and fresh:
            found.append(m)
    return found


def _links(line: str, spans: CodeSpans) -> tuple[list[Cite], str]:
    """Links into ``upstream/`` with ``#L`` become citations; every link target is blanked."""
    cites: list[Cite] = []
    pieces: list[str] = []  # the line with the blanks, built once
    done = 0
    for m in LINK_RE.finditer(line):
        if spans.content_at(m.start()) is not None:
            continue
        cite = _link_cite(line, m)
        if cite is not None:
            cites.append(cite)
        blank = m.start() if cite is not None else m.start("target")
        pieces += [line[done:blank], " " * (m.end() - blank)]
        done = m.end()
    pieces.append(line[done:])
    return cites, "".join(pieces)


def _link_cite(line: str, m: re.Match[str]) -> Cite | None:
    target, base = m.group("target"), m.start("target")
    roots = list(_UPSTREAM_RE.finditer(target))
    if not roots:
        return None
    t = _LINK_TARGET_RE.match(target, roots[-1].end())
    if t is None:
        return None
    return Cite(
        start=m.start(),
        end=m.end(),
        path=t.group("path"),
        path_span=(base + t.start("path"), base + t.end("path")),
        **_numbers(t, base),
        label=link_label(m.group("text")),
    )


def _numbers(m: re.Match[str], base: int = 0) -> dict:
    """line, line_end and line_span of a match of :data:`_LINES` (offset by ``base``).

    A minus sign before the number (``a.py:-3``) makes it negative and belongs to the span.
    """
    last = "l2" if m.group("l2") else "l1"
    minus = m.start("minus") if "minus" in m.re.groupindex and m.group("minus") else -1
    return {
        "line": -_int(m.group("l1")) if minus >= 0 else _int(m.group("l1")),
        "line_end": _int(m.group("l2")) if m.group("l2") else None,
        "line_span": (base + (minus if minus >= 0 else m.start("l1")), base + m.end(last)),
    }


def _int(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _MAX_LINE


def _path_cite(line: str, m: re.Match[str], spans: CodeSpans) -> Cite | None:
    span = spans.content_at(m.start())
    if span is not None and m.end() > span[2]:
        return None  # the citation straddles a closing backtick
    if span is None and spans.content_at(m.end() - 1) is not None:
        return None
    path, p0 = m.group("path"), m.start("path")
    roots = list(_UPSTREAM_RE.finditer(path))
    if roots:
        p0 += roots[-1].end()
        path = path[roots[-1].end() :]
    start, label, end = label_at(line, m.start(), m.end(), span, spans)
    return Cite(
        start=start,
        end=end,
        path=path,
        path_span=(p0, m.end("path")),
        **_numbers(m),
        label=label,
    )


def _continuation(line: str, m: re.Match[str], spans: CodeSpans) -> Cite | None:
    """``:443 — label``: only where it starts a phrase and ends before a boundary (not a slice)."""
    before = line[m.start() - 1] if m.start() else " "
    after = line[m.end()] if m.end() < len(line) else " "
    if before not in _CONT_BEFORE or after not in _CONT_AFTER:
        return None
    span = spans.content_at(m.start())
    if span is not None and m.end() > span[2]:
        return None
    start, label, end = label_at(line, m.start(), m.end(), span, spans)
    return Cite(
        start=start,
        end=end,
        path=None,
        path_span=None,
        **_numbers(m),
        label=label,
    )
