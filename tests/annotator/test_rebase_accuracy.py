"""Accuracy of annotator.rebase on the real trees (vLLM 0.22.1 → 0.23.0), against an ``ast`` oracle.

The oracle is built here, independently of the rebase code: Python's ``ast`` over both trees gives
every definition's qualified name and span. For each symbol-labelled anchor of annotations/, the
rebased anchor must name the same definition in the new tree, sit on its def line when the old
one did, and otherwise sit on a line whose text equals the cited line's whenever the new
definition still holds such a line.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

from annotator import fetch
from annotator.anchors import scan_file
from annotator.index import open_index
from annotator.rebase import Mapper, TreeView
from annotator.resolve import resolve

pytestmark = pytest.mark.upstream
ROOT = Path(__file__).resolve().parents[2]
MIN_ANCHORS = 100  # below this, anchors generated from the cited files' definitions are added
LIMIT_FILES = 20  # files whose definitions feed the generated anchors

Span = tuple[int, int, int]  # (first decorator line, def line, last line)


@lru_cache(maxsize=None)
def definitions(file: Path) -> dict[str, list[Span]]:
    """qualname → spans of every class/function in ``file`` (``Class.method``, ``outer.inner``)."""
    out: dict[str, list[Span]] = {}

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                out.setdefault(name, []).append((first, child.lineno, child.end_lineno or child.lineno))
                walk(child, name + ".")
            elif isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)):
                walk(child, prefix)  # defs sit in statement blocks, never inside expressions

    walk(ast.parse(file.read_bytes()), "")
    return out


def cited(file: Path, label: str, line: int) -> tuple[str, Span] | None:
    """The innermost definition named by ``label`` containing ``line`` (the oracle's reading)."""
    parts = label.strip().removesuffix("()").split(".")
    hits = [
        (q, s)
        for q, spans in definitions(file).items()
        for s in spans
        if q.split(".")[-len(parts) :] == parts and s[0] <= line <= s[2]
    ]
    return max(hits, key=lambda h: (h[1][0], -h[1][2]), default=None)


def homes(tree: Path, path: str, qualname: str) -> list[tuple[str, Span]]:
    """Where ``qualname`` is defined in ``tree``: the same file if it is there, else anywhere."""
    same = tree / path
    if same.is_file() and qualname in definitions(same):
        return [(path, s) for s in definitions(same)[qualname]]
    leaf = re.compile(rf"^\s*(?:async\s+def|def|class)\s+{re.escape(qualname.rsplit('.', 1)[-1])}\b", re.M)
    found = []
    for file in sorted((tree / "vllm").rglob("*.py")):
        text = file.read_text("utf-8", "replace")
        if leaf.search(text) and qualname in definitions(file):
            found += [(file.relative_to(tree).as_posix(), s) for s in definitions(file)[qualname]]
    return found


@pytest.fixture(scope="module")
def trees(project_config, upstream_tree):
    """Both real trees (materialised through annotator.fetch; cached) and a mapper between them."""
    _, new_root = fetch.fetch_version("0.23.0", "vllm", project_config.cache_dir, None, lambda *a: None)
    old_index = open_index(upstream_tree, project_config.cache_dir)
    new_index = open_index(new_root, project_config.cache_dir)
    return upstream_tree, new_root, old_index, Mapper(TreeView(old_index), TreeView(new_index))


def symbol_findings(old_index):
    """Findings of every symbol-labelled anchor of annotations/ that resolves in the pinned tree."""
    anchors = [a for doc in sorted((ROOT / "annotations").rglob("*.md")) for a in scan_file(doc, doc.name)]
    return [
        f
        for f in resolve(anchors, old_index)
        if f.status == "ok" and f.anchor.label_kind == "symbol" and f.path and f.path.endswith(".py")
    ]


def generated_findings(old_tree: Path, old_index, cited_paths: list[str]):
    """Extra anchors: each definition of the cited files, at its def line and a middle line."""
    from annotator.anchors import scan_text

    lines = []
    for path in cited_paths[:LIMIT_FILES]:
        for qualname, spans in sorted(definitions(old_tree / path).items()):
            first, def_line, last = spans[0]
            for line in {def_line, (def_line + last) // 2}:
                lines.append(f"`{path}:{line} — {qualname}()`")
    return [f for f in resolve(scan_text("\n".join(lines), "generated.md"), old_index) if f.status == "ok"]


def check(finding, rec, old_tree: Path, new_tree: Path) -> str | None:
    """None when the rebased anchor is right by the oracle; else what is wrong."""
    a = finding.anchor
    named = cited(old_tree / finding.path, a.label, a.line)
    if named is None:
        return None  # verify accepted it through an attribute assignment: not a definition anchor
    qualname, (_, def_line, _) = named
    where = homes(new_tree, finding.path, qualname)
    if not where:
        return None  # the definition is gone: nothing to map, so no requirement
    if rec.new is None:
        if len({p for p, _ in where}) > 1 and any(c.startswith(p + ":") for p, _ in where for c in rec.candidates):
            return None  # several files define it now and none is clearly it: listing them is right
        return f"{qualname} still exists at {where[0][0]}:{where[0][1][1]} but was reported missing"
    spans = [s for p, s in where if p == rec.new.path and s[0] <= rec.new.line <= s[2]]
    if not spans:
        return f"{qualname}: {rec.new.path}:{rec.new.line} is outside every definition of it"
    first, new_def, last = spans[0]
    if a.line == def_line:
        return None if rec.new.line == new_def else f"{qualname}: def line {new_def} expected, got {rec.new.line}"
    old_text = (old_tree / finding.path).read_text("utf-8").split("\n")[a.line - 1].strip()
    new_lines = (new_tree / rec.new.path).read_text("utf-8").split("\n")
    same = [n for n in range(first, last + 1) if new_lines[n - 1].strip() == old_text]
    if same and rec.new.line not in same:
        return f"{qualname}: line {a.line} ({old_text!r}) should map to one of {same}, got {rec.new.line}"
    return None


def test_every_surviving_symbol_anchor_is_mapped_to_its_definition(trees, capsys):
    """Each anchor whose definition survives is mapped to it, on the def line or the same text."""
    old_tree, new_tree, old_index, mapper = trees
    findings = symbol_findings(old_index)
    if len(findings) < MIN_ANCHORS:
        findings += generated_findings(old_tree, old_index, sorted({f.path for f in findings}))
    problems = [p for f in findings if (p := check(f, mapper.map(f), old_tree, new_tree))]
    share = 1 - len(problems) / len(findings)
    with capsys.disabled():
        print(f"\nrebase accuracy: {len(findings) - len(problems)}/{len(findings)} symbol anchors "
              f"mapped as the ast oracle says ({share:.1%})")
    assert findings, "no symbol-labelled anchors to check"
    assert problems == []
