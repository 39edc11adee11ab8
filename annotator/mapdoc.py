"""MAP.md: for each file of the chosen subsystems, its role, who imports it and who calls into it.

The map is committed and reviewed as a diff, so its text is a pure function of the tree, the
role sentences and the subsystem list: rows sorted by path, importers and callers ranked by a
stable key, no timestamps and no absolute paths.

A file's role is the first sentence of its module docstring; where upstream has none, the
sentence we wrote in ``annotations/roles.toml`` (``[roles]`` table, ``"path" = "sentence"``);
else the row says the role is missing, and :attr:`MapData.missing` lists it.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from annotator.errors import ConfigError
from annotator.graphs import CallGraph
from annotator.pin import Pin
from annotator.records import FileIndex

TOP = 3  # importers / callers named per row; the count covers all of them
MISSING = "*(role missing: add one to annotations/roles.toml)*"


@dataclass(frozen=True)
class FileRow:
    """One file of the map; ``importers``/``callers`` are ranked, ``n_*`` count all of them."""

    path: str
    role: str
    role_source: str  # "docstring" | "roles" | "missing"
    n_importers: int
    importers: tuple[str, ...]
    n_callers: int
    callers: tuple[str, ...]
    unresolved: int = 0  # call sites in this file that got no edge (unresolved or ambiguous)


@dataclass(frozen=True)
class MapData:
    """Everything MAP.md shows, before rendering."""

    subsystems: tuple[str, ...]
    rows: Mapping[str, tuple[FileRow, ...]]  # subsystem → rows sorted by path
    links: Mapping[tuple[str, str], int]  # (importing subsystem, imported) → module edges
    missing: tuple[str, ...]  # paths with no role sentence anywhere


def read_roles(path: Path | None) -> dict[str, str]:
    """The ``[roles]`` table of our role file ({} when there is no file yet)."""
    if path is None or not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text("utf-8")).get("roles", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the role sentences: {exc}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(f'{path}: [roles] must map "path" = "one sentence"')
    return {str(k): " ".join(v.split()) for k, v in table.items()}


def subsystem_of(path: str, subsystems: tuple[str, ...]) -> str | None:
    """The most specific subsystem directory holding ``path``, if any."""
    best = None
    for sub in subsystems:
        if path.startswith(sub.rstrip("/") + "/") and (best is None or len(sub) > len(best)):
            best = sub
    return best


def build_map(
    files: Mapping[str, FileIndex],
    subsystems: tuple[str, ...],
    roles: Mapping[str, str],
    imports,
    calls: CallGraph,
) -> MapData:
    """Assemble rows and subsystem links from the index, the import graph and the call graph."""
    subsystems = tuple(s.rstrip("/") for s in subsystems)
    callers = _callers_by_path(calls)
    rows: dict[str, list[FileRow]] = {s: [] for s in subsystems}
    for path in sorted(files):
        sub = subsystem_of(path, subsystems)
        if sub is not None:
            rows[sub].append(_row(files[path], roles, imports, callers.get(path, Counter()),
                                  calls.unresolved_in.get(path, 0)))
    links: Counter[tuple[str, str]] = Counter()
    for src, dst in imports.edges:
        a = subsystem_of(imports.nodes[src].get("path") or "", subsystems)
        b = subsystem_of(imports.nodes[dst].get("path") or "", subsystems)
        if a and b and a != b:
            links[(a, b)] += 1
    missing = tuple(r.path for rs in rows.values() for r in rs if r.role_source == "missing")
    return MapData(subsystems, {s: tuple(r) for s, r in rows.items()}, dict(links), missing)


def _row(
    fi: FileIndex, roles: Mapping[str, str], imports, callers: Counter, unresolved: int
) -> FileRow:
    if fi.summary:
        role, source = fi.summary, "docstring"
    elif fi.path in roles:
        role, source = roles[fi.path], "roles"
    else:
        role, source = MISSING, "missing"
    importers = (
        [m for m in imports.predecessors(fi.module) if m != fi.module]
        if fi.module in imports
        else []
    )
    weight = Counter({m: 0 for m in importers})
    for caller, n in callers.items():
        module = _module_of(caller, imports)
        if module in weight:
            weight[module] += n
    home = fi.module.partition(".")[0]
    ranked = sorted(importers, key=lambda m: (not _same_top(m, home), -weight[m], m))
    top_callers = sorted(callers, key=lambda c: (not _same_top(c, home), -callers[c], c))
    return FileRow(fi.path, role, source, len(importers), tuple(ranked[:TOP]),
                   len(callers), tuple(top_callers[:TOP]), unresolved)


def _same_top(dotted: str, home: str) -> bool:
    """Whether a name lies in the file's own top-level package (``vllm``, not ``tests``)."""
    return dotted.partition(".")[0] == home


def _module_of(dotted: str, imports) -> str | None:
    name = dotted
    while name and name not in imports:
        name = name.rpartition(".")[0]
    return name or None


def _callers_by_path(calls: CallGraph) -> dict[str, Counter]:
    """path → Counter(caller outside that file → call sites into it)."""
    g = calls.graph
    out: dict[str, Counter] = {}
    for caller, callee, data in g.edges(data=True):
        target = g.nodes[callee].get("path")
        if target and g.nodes[caller].get("path") != target:
            out.setdefault(target, Counter())[caller] += len(data["lines"])
    return out


def generate(
    files: Mapping[str, FileIndex],
    subsystems: tuple[str, ...],
    roles: Mapping[str, str],
    source: str,
    calls: CallGraph,
) -> tuple[MapData, str]:
    """From an index and its call graph to MAP.md's text (the import graph is built here)."""
    from annotator.graphs import import_graph

    data = build_map(files, subsystems, roles, import_graph(files), calls)
    return data, render(data, source)


def source_label(pin: Pin) -> str:
    """How MAP.md names a pinned tree, e.g. ``vllm 0.22.1 (commit 0decac0d9)``."""
    return f"{pin.package} {pin.version} (commit {pin.commit[:9]})"


def render(data: MapData, source: str) -> str:
    """MAP.md's text; ``source`` names the tree (e.g. ``vLLM 0.22.1 (commit 0decac0d9)``)."""
    out = [
        "# Map of the upstream code",
        "",
        f"Generated by `annotate map` from {source}; do not edit by hand — regenerate it.",
        "Roles are the module docstring's first sentence, else ours from `annotations/roles.toml`.",
        f"Importers and callers are counted over the whole tree; the first {TOP} are named:",
        "those in the file's own top-level package first, then by call sites into the file.",
        "Callers are functions outside the file; a module name stands for its top-level code.",
        "The call graph is a whole-program points-to analysis (`annotate graph calls`); a call",
        "whose callee it cannot tell, or could be too many things, is not guessed: *unresolved*",
        "counts those call sites in the file (`annotate graph calls --show-unresolved` lists them).",
        "",
        "## Imports between subsystems",
        "",
        *_mermaid(data),
        "",
    ]
    for sub in data.subsystems:
        out += [f"## {sub}", "", "| file | role | importers | callers | unresolved |",
                "|---|---|---|---|---|"]
        for row in data.rows[sub]:
            out.append(
                f"| `{row.path}` | {_cell(row.role)} | {_names(row.n_importers, row.importers)}"
                f" | {_names(row.n_callers, row.callers)} | {row.unresolved} |"
            )
        out.append("")
    return "\n".join(out)


def _mermaid(data: MapData) -> list[str]:
    ids = {sub: f"s{i}" for i, sub in enumerate(data.subsystems)}
    lines = ["```mermaid", "flowchart LR"]
    lines += [f'  {ids[s]}["{s}"]' for s in data.subsystems]
    for (a, b), n in sorted(data.links.items()):
        lines.append(f"  {ids[a]} -->|{n}| {ids[b]}")
    lines.append("```")
    return lines


def _names(count: int, names: tuple[str, ...]) -> str:
    if not count:
        return "0"
    shown = ", ".join(f"`{n}`" for n in names)
    more = ", …" if count > len(names) else ""
    return f"{count}: {shown}{more}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
