"""Which definitions in one file a symbol label names, and how the cited line sits in one.

A label matches a definition whose qualified name ends with the label's dotted parts
(``get_new_blocks`` and ``BlockPool.get_new_blocks`` both name ``BlockPool.get_new_blocks``);
a leading module path (``block_pool.BlockPool``) is ignored when nothing matches with it.
"""

from __future__ import annotations

from annotator.records import AnchorKind, FileIndex, Symbol


def symbol_parts(label: str) -> list[str]:
    """A symbol label's dotted parts, without a trailing ``()``."""
    return label.strip().removesuffix("()").split(".")


def kind_of(sym: Symbol, line: int) -> AnchorKind:
    """``def`` on the def/class line, ``lead`` on a decorator or up to the docstring's end."""
    if line == sym.line:
        return "def"
    if line < sym.line or (sym.doc_end and line <= sym.doc_end):
        return "lead"
    return "interior"


def ends_with(qualname: str, parts: list[str]) -> bool:
    """The qualified name's last dotted parts are exactly ``parts``."""
    names = qualname.split(".")
    return len(names) >= len(parts) and names[len(names) - len(parts) :] == parts


def name_table(fi: FileIndex) -> dict[str, list[Symbol]]:
    """A file's definitions by the last part of their qualified name (built once per file)."""
    table: dict[str, list[Symbol]] = {}
    for s in fi.symbols:
        table.setdefault(s.qualname.rsplit(".", 1)[-1], []).append(s)
    return table


def matches(fi: FileIndex, names: dict[str, list[Symbol]], parts: list[str]) -> list[Symbol]:
    """Definitions whose qualname ends with ``parts``; a leading module path is ignored."""
    found = [s for s in names.get(parts[-1], ()) if ends_with(s.qualname, parts)]
    if found or len(parts) < 2:
        return found
    module = fi.module.split(".")
    for k in range(len(parts) - 1, 0, -1):
        if module[-k:] == parts[:k]:
            return [s for s in names.get(parts[-1], ()) if ends_with(s.qualname, parts[k:])]
    return []


def innermost(symbols: list[Symbol]) -> Symbol | None:
    """The most deeply nested of definitions that all contain one line."""
    return max(symbols, key=lambda s: (s.start, -s.end, s.line), default=None)
