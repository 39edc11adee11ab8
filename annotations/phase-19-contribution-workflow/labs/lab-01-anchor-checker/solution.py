"""Lab 19.01: check that ``path:line — Symbol`` citations still point at the symbol.

Course notes and code comments cite the engine as ``vllm/v1/core/block_pool.py:333 —
BlockPool.get_new_blocks()``. Upstream moves code daily, so a citation that was right last month
may now land in the middle of another function. The check that catches this is containment:
the named symbol's span (from its first decorator to its last line) must contain the cited line.
Mere existence of the line, or of the symbol somewhere in the file, proves nothing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

_ANCHOR = re.compile(
    r"`?(?P<path>[\w./-]+\.py):(?P<line>\d+)`?"
    r"(?:\s*(?:—|–|--|-)\s*`?(?P<label>[^`\n]+?)`?\s*$)?"
)
_SYMBOL = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?")


@dataclass(frozen=True)
class Anchor:
    """One citation; ``is_symbol`` says whether the label names a definition."""

    path: str
    line: int
    label: str | None

    @property
    def is_symbol(self) -> bool:
        return self.label is not None and _SYMBOL.fullmatch(self.label) is not None


@dataclass(frozen=True)
class Finding:
    """The verdict on one anchor; ``suggestion`` is a corrected line when one is known."""

    status: str
    suggestion: int | None = None


def parse_anchor(text: str) -> Anchor | None:
    """The anchor in ``text``, or None when there is no ``path:line``."""
    m = _ANCHOR.search(text.strip())
    if m is None:
        return None
    label = m.group("label")
    return Anchor(m.group("path"), int(m.group("line")), label.strip() if label else None)


def symbol_spans(source: str) -> dict[str, list[tuple[int, int, int]]]:
    """Qualified name → ``(start, def_line, end)`` of every class and function."""
    spans: dict[str, list[tuple[int, int, int]]] = {}

    def walk(node: ast.AST, prefix: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = (*prefix, child.name)
                start = min([d.lineno for d in child.decorator_list] + [child.lineno])
                spans.setdefault(".".join(name), []).append((start, child.lineno, child.end_lineno or child.lineno))
                walk(child, name)
            else:
                walk(child, prefix)

    walk(ast.parse(source), ())
    return spans


def check_anchor(root: Path, anchor: Anchor) -> Finding:
    """Resolve ``anchor`` against the tree at ``root``."""
    file = root / anchor.path
    if not file.is_file():
        return Finding("missing-file")
    source = file.read_text("utf-8")
    if not 1 <= anchor.line <= len(source.splitlines()):
        return Finding("line-out-of-range")
    if not anchor.is_symbol:
        return Finding("ok")
    parts = anchor.label.removesuffix("()").split(".")  # type: ignore[union-attr]
    candidates = [
        span
        for qualname, found in symbol_spans(source).items()
        if qualname.split(".")[-len(parts) :] == parts
        for span in found
    ]
    if not candidates:
        return Finding("unknown-symbol")
    if any(start <= anchor.line <= end for start, _, end in candidates):
        return Finding("ok")
    return Finding("wrong-line", suggestion=candidates[0][1])
