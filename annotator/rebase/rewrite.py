"""Turn mapped anchors into edits, and apply them touching only an anchor's path and line characters.

Markdown is edited by replacing exactly the scanned character spans. Python documents are edited
through libcst, and only inside comments and string statements (docstrings): an anchor found
anywhere else is refused rather than risk changing code. Both paths must produce the same bytes,
which is checked, so a column mix-up can never slip through as a silent corruption.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path

from annotator.errors import InputError, RebaseError
from annotator.rebase.rebased import Edit, Location, Rebased

_NUMBER = re.compile(r"\d+")


def path_text(cited: str, old_path: str, new_path: str, new_paths: Collection[str]) -> str:
    """The cited path rewritten to ``new_path``, in the form it was written.

    A prefix (``upstream/``) is kept; a partial path (a basename) stays partial while it still
    names exactly one file of the new tree, and becomes the full path otherwise.
    """
    if old_path == new_path:
        return cited
    c, o, n = cited.split("/"), old_path.split("/"), new_path.split("/")
    k = 0
    while k < min(len(c), len(o)) and c[-1 - k] == o[-1 - k]:
        k += 1
    if k == 0:
        return new_path
    if k == len(o):  # the whole tree path was written: write the whole new one
        return "/".join(c[:-k] + n)
    short = n[-k:]
    suffix = "/".join(short)
    if [p for p in new_paths if p == suffix or p.endswith("/" + suffix)] != [new_path]:
        short = n
    return "/".join(c[:-k] + short)


def line_text(cited: str, old: Location, new: Location, where: str) -> str:
    """The cited line number(s) replaced, every other character (``L``, ``–``, ``#``) kept."""
    found = list(_NUMBER.finditer(cited))
    want = [old.line] + ([old.line_end] if old.line_end is not None else [])
    if [int(m.group()) for m in found] != want:
        raise RebaseError(f"{where}: cannot find line number(s) {want} in {cited!r}; nothing written")
    values = [new.line]
    if old.line_end is not None:
        values.append(new.line if new.line_end is None else new.line_end)
    out = cited
    for match, value in reversed(list(zip(found, values))):
        out = out[: match.start()] + str(value) + out[match.end() :]
    return out


def plan_document(
    text: str, records: Iterable[Rebased], new_paths: Collection[str]
) -> tuple[list[Edit], list[Rebased]]:
    """The edits for one document, and its records with unexpressible moves turned ``missing``.

    A continuation (``:443 — …``) writes no path: it inherits the file of the anchor before it,
    so it can follow its definition only if that is where the anchor before it now points.
    """
    lines = text.split("\n")
    edits: list[Edit] = []
    out: list[Rebased] = []
    heads: dict[str, str] = {}  # cited path → where the latest anchor writing it will point
    seen: set[Edit] = set()  # two anchors of one table row share its label cell: one edit
    for rec in sorted(records, key=lambda r: (r.anchor.doc_line, r.anchor.doc_col)):
        a = rec.anchor
        if a.path_span is not None:
            heads[a.path] = rec.new.path if rec.new else rec.old.path
        elif rec.new is not None and rec.new.path != heads.get(a.path, rec.old.path):
            rec = rec.as_missing(
                f"now in {rec.new.path}:{rec.new.line}, but a continuation names no file; "
                "write the path into the anchor by hand"
            )
        mine = _edits(rec, lines, new_paths)
        if rec.new is not None and rec.new.label != rec.old.label and not any(e.old == _dotted(rec.old.label or "") for e in mine):
            note = f"the label could not be rewritten to {rec.new.label}: edit it by hand"
            rec = replace(rec, message=f"{rec.message}; {note}" if rec.message else note)
        out.append(rec)
        edits.extend(e for e in mine if e not in seen)
        seen.update(mine)
    return edits, out


def _edits(rec: Rebased, lines: list[str], new_paths: Collection[str]) -> list[Edit]:
    a, new = rec.anchor, rec.new
    if new is None:
        return []
    where = f"{a.doc}:{a.doc_line}"
    if a.doc_line > len(lines):
        raise RebaseError(f"{where}: the document is shorter than when it was scanned")
    line = lines[a.doc_line - 1]
    out = []
    s, e = a.line_span
    replacement = line_text(line[s:e], rec.old, new, where)
    if replacement != line[s:e]:
        out.append(Edit(a.doc, a.doc_line, s, e, line[s:e], replacement))
    if a.path_span is not None:
        s, e = a.path_span
        replacement = path_text(line[s:e], rec.old.path, new.path, new_paths)
        if replacement != line[s:e]:
            out.append(Edit(a.doc, a.doc_line, s, e, line[s:e], replacement))
    label = label_edit(rec, line)
    return out + ([label] if label else [])


def label_edit(rec: Rebased, line: str) -> Edit | None:
    """The edit that renames the anchor's symbol label, when its definition was renamed.

    Only the dotted name changes (``()`` and everything around it stay); it is looked for first
    inside the anchor's own text, then on its line (a table row's symbol cell), and must occur
    exactly once there and clear of the path and line characters, or nothing is edited.
    """
    a, new = rec.anchor, rec.new
    if new is None or not rec.old.label or not new.label or new.label == rec.old.label:
        return None
    old_name, new_name = _dotted(rec.old.label), _dotted(new.label)
    taken = [span for span in (a.line_span, a.path_span) if span is not None]
    start = a.doc_col - 1
    for lo, hi in ((start, start + len(a.text)), (0, len(line))):
        hits = list(re.finditer(rf"(?<![\w.]){re.escape(old_name)}(?![\w])", line[lo:hi]))
        if len(hits) == 1:
            s, e = lo + hits[0].start(), lo + hits[0].end()
            if all(e <= ts or s >= te for ts, te in taken):
                return Edit(a.doc, a.doc_line, s, e, old_name, new_name)
            return None
    return None


def _dotted(label: str) -> str:
    return label.strip().removesuffix("()")


def apply_spans(text: str, edits: Iterable[Edit]) -> str:
    """Replace each edit's characters; everything else, line endings included, stays as it was."""
    lines = text.split("\n")
    last: tuple[int, int] | None = None
    for e in sorted(edits, key=lambda x: (x.doc_line, x.start), reverse=True):
        line = lines[e.doc_line - 1]
        if line[e.start : e.end] != e.old or (last and last[0] == e.doc_line and e.end > last[1]):
            raise RebaseError(f"{e.doc}:{e.doc_line}: the anchor text changed since it was scanned")
        lines[e.doc_line - 1] = line[: e.start] + e.new + line[e.end :]
        last = (e.doc_line, e.start)
    return "\n".join(lines)


def apply_python(text: str, edits: list[Edit], doc: str) -> str:
    """Apply edits to a Python document through libcst, inside comments and docstrings only.

    Positions come from :mod:`tokenize` (libcst's position metadata costs a second per few dozen
    files): the n-th comment token is the n-th ``Comment`` node libcst visits, the n-th plain
    string token the n-th ``SimpleString``. Each pairing is checked by text, so a mismatch is an
    error, never a wrong edit.
    """
    if not edits:
        return text
    import libcst as cst

    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise RebaseError(f"{doc}:{exc.raw_line}: not valid Python, so its anchors cannot be rewritten safely") from None
    comments, strings = _token_carriers(text, doc)
    owned: dict[tuple[str, int], list[Edit]] = {}
    for e in edits:
        owned.setdefault(_owner(e, comments, strings, doc), []).append(e)
    rewriter = _rewriter(comments, strings, owned, doc)
    result = module.visit(rewriter).code
    if rewriter.done != set(owned) or result != apply_spans(text, edits):
        raise RebaseError(f"{doc}: the Python rewrite would change more than the anchors; nothing written")
    return result


Token = tuple[int, int, str]  # (row, col, text) of a comment or string token


def _token_carriers(text: str, doc: str) -> tuple[list[Token], list[Token]]:
    """Comment tokens and plain (non-f) string tokens, in source order."""
    import io
    import tokenize

    comments: list[Token] = []
    strings: list[Token] = []
    fstring_start = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12+ splits f-strings up
    fstring_end = getattr(tokenize, "FSTRING_END", -1)
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            depth += (tok.type == fstring_start) - (tok.type == fstring_end)
            if tok.type == tokenize.COMMENT:
                comments.append((*tok.start, tok.string))
            elif tok.type == tokenize.STRING and not depth and "f" not in _prefix(tok.string):
                strings.append((*tok.start, tok.string))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise RebaseError(f"{doc}: cannot tokenize ({exc}); its anchors were not rewritten") from None
    return comments, strings


def _prefix(literal: str) -> str:
    return literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))].lower()


def _owner(e: Edit, comments: list[Token], strings: list[Token], doc: str) -> tuple[str, int]:
    for kind, tokens in (("comment", comments), ("string", strings)):
        for k, (row, col, literal) in enumerate(tokens):
            rows = literal.split("\n")
            last_row, end_col = row + len(rows) - 1, (col if len(rows) == 1 else 0) + len(rows[-1])
            if row <= e.doc_line <= last_row and (e.doc_line > row or e.start >= col) and (
                e.doc_line < last_row or e.end <= end_col
            ):
                return kind, k
    raise RebaseError(f"{doc}:{e.doc_line}: this anchor is not in a comment or docstring; nothing written")


def _splice(value: str, start_line: int, start_col: int, edits: list[Edit]) -> str:
    """A comment's or string's text with the edits applied (positions relative to the document)."""
    rows = value.split("\n")
    for e in sorted(edits, key=lambda x: (x.doc_line, x.start), reverse=True):
        row = e.doc_line - start_line
        offset = start_col if row == 0 else 0
        rows[row] = rows[row][: e.start - offset] + e.new + rows[row][e.end - offset :]
    return "\n".join(rows)


def _rewriter(comments: list[Token], strings: list[Token], owned: dict, doc: str):
    """A libcst transformer that rewrites the owned comments and statement strings, nothing else."""
    import libcst as cst

    class Rewriter(cst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.seen = {"comment": 0, "string": 0}
            self.statement_strings: set[int] = set()
            self.done: set[tuple[str, int]] = set()
            self.in_fstring = 0  # strings inside an f-string's braces are part of one token

        def visit_FormattedString(self, node: cst.FormattedString) -> None:
            self.in_fstring += 1

        def leave_FormattedString(self, original_node, updated_node):
            self.in_fstring -= 1
            return updated_node

        def visit_Expr(self, node: cst.Expr) -> None:
            if isinstance(node.value, cst.SimpleString):
                self.statement_strings.add(id(node.value))

        def _next(self, kind: str, tokens: list[Token], original, updated):
            k = self.seen[kind]
            self.seen[kind] += 1
            if k >= len(tokens) or tokens[k][2] != original.value:
                raise RebaseError(f"{doc}: libcst and tokenize disagree on a {kind}; nothing written")
            if (kind, k) not in owned:
                return updated
            if kind == "string" and id(original) not in self.statement_strings:
                raise RebaseError(f"{doc}:{tokens[k][0]}: this anchor is in a string that is not a docstring")
            self.done.add((kind, k))
            row, col, _ = tokens[k]
            return updated.with_changes(value=_splice(original.value, row, col, owned[kind, k]))

        def leave_Comment(self, original_node, updated_node):
            return self._next("comment", comments, original_node, updated_node)

        def leave_SimpleString(self, original_node, updated_node):
            if self.in_fstring:
                return updated_node
            return self._next("string", strings, original_node, updated_node)

    return Rewriter()


def rewrite_document(
    path: Path, doc: str, data: bytes, edits: list[Edit], *, through_cst: bool = True
) -> bytes | None:
    """The new bytes of the document whose bytes were ``data``, or None when nothing changes.

    ``through_cst=False`` (for a dry run, which writes nothing) skips the libcst pass over
    Python documents; the bytes are the same, since a real run insists the two agree.
    """
    if not edits:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{doc}: not UTF-8; cannot rewrite its anchors") from None
    if path.suffix == ".py" and through_cst:
        new = apply_python(text, edits, doc)
    else:
        new = apply_spans(text, edits)
    out = new.encode("utf-8")
    return None if out == data else out
