"""``annotate index``: index every class and function of a tree, in parallel, cached by content hash.

Without ``--stats`` it prints one summary line; with it, every figure (files, symbols, imports,
call sites, cache hits, files parsed, seconds, files with syntax errors) as a table or as one
JSON object. Files tree-sitter could not fully parse are listed on stderr, never fatal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from annotator.commands.output import progress_bar, stderr, stdout
from annotator.config import Config
from annotator.errors import TreeMissingError
from annotator.records import FileIndex


def tree_or_fail(config: Config, tree: Path | None) -> Path:
    """The tree a command works on (``--tree`` or upstream/); TreeMissingError says how to get it."""
    where = tree if tree is not None else config.upstream_dir
    if not where.is_dir():
        how = "pass an existing directory" if tree is not None else "run `annotate fetch` first"
        raise TreeMissingError(f"{where}: no such tree; {how}")
    return where


def call_graph_of(config: Config, where: Path):
    """The call graph of the tree ``where`` (cached beside the index), with a progress bar."""
    from annotator.graphs.stored import tree_call_graph
    from annotator.index import open_index

    with progress_bar() as update:
        return tree_call_graph(open_index(where, config.cache_dir, progress=update))


def load_files(config: Config, where: Path) -> dict[str, FileIndex]:
    """Every ``.py`` file's index of the tree ``where``, with a progress bar while a cold load parses."""
    from annotator.index import open_index

    with progress_bar() as update:
        return open_index(where, config.cache_dir, progress=update).load_all()


def run(config: Config, stats: bool, tree: Path | None, fmt: str) -> int:
    """Load (or build) the whole index of the tree and report it; exit 0."""
    from annotator.index import open_index

    where = tree_or_fail(config, tree)
    with progress_bar() as update:
        index = open_index(where, config.cache_dir, progress=update)
        files = index.load_all()
    figures = index.stats
    broken = {p: fi.errors for p, fi in files.items() if fi.errors}
    if fmt == "json":
        record = {"tree": str(where), **figures.to_json()}
        record["error_files"] = sorted(broken)
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return 0
    for path, errors in sorted(broken.items()):
        stderr().print(f"warning: {path}:{errors[0]} (tree-sitter recovered; {len(errors)} region(s))")
    out = stdout()
    if not stats:
        out.print(
            f"indexed {figures.files} files of {where}: {figures.symbols} symbols "
            f"({figures.cache_hits} cached, {figures.parsed} parsed) in {figures.seconds:.2f} s"
        )
        return 0
    for key, value in figures.to_json().items():
        out.print(f"{_LABELS[key]:<{_WIDTH}}  {value}")
    return 0


_LABELS = {
    "files": "files",
    "symbols": "symbols",
    "imports": "imports",
    "calls": "call sites",
    "cache_hits": "cache hits",
    "parsed": "files parsed",
    "seconds": "seconds",
    "errors": "files with syntax errors",
}
_WIDTH = max(map(len, _LABELS.values()))
