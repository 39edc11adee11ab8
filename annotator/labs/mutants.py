"""Plausible learner bugs, kept beside each lab, that the lab's tests must catch.

A lab whose tests pass a wrong answer teaches the wrong answer. Each lab's ``mutants.toml``
lists bugs a learner could plausibly write — each a few exact text edits of the reference
solution, inside the functions the learner writes — and CI runs the lab's tests against every
mutant: each must fail (the mutant is *killed*), unless it is marked ``equivalent`` with the
reason it cannot be told apart from the solution.

```toml
[[mutant]]
name = "preempted-requeued-at-back"
why = "the victim is queued like a new request"
edits = [["self.waiting.appendleft(request)", "self.waiting.append(request)"]]
```
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from annotator.labs.model import Lab, LabError

MUTANTS_FILE = "mutants.toml"


@dataclass(frozen=True)
class Mutant:
    """One plausible bug.

    Attributes:
        name: Short kebab-case id, unique within the lab.
        why: The mistake a learner makes to produce it.
        edits: ``(old, new)`` pairs; each ``old`` occurs exactly once in the solution.
        equivalent: Why no test can tell it from the solution, or None (it must be killed).
    """

    name: str
    why: str
    edits: tuple[tuple[str, str], ...]
    equivalent: str | None = None


def read_mutants(lab: Lab) -> tuple[Mutant, ...]:
    """The lab's mutants (none if it has no ``mutants.toml``); malformed entries are LabErrors."""
    path = lab.path / MUTANTS_FILE
    if not path.is_file():
        return ()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LabError(f"{path}: cannot read mutants: {exc}") from None
    mutants = tuple(_mutant(path, i, entry) for i, entry in enumerate(data.get("mutant", [])))
    names = [m.name for m in mutants]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LabError(f"{path}: duplicate mutant name(s) {', '.join(dupes)}")
    return mutants


def _mutant(path: Path, i: int, entry: dict) -> Mutant:
    """One ``[[mutant]]`` table, validated."""
    where = f"{path}: mutant {i + 1}"
    if not isinstance(entry.get("name"), str) or not isinstance(entry.get("why"), str):
        raise LabError(f"{where}: needs string keys name and why")
    edits = entry.get("edits")
    if not edits or not all(isinstance(e, list) and len(e) == 2 and all(isinstance(s, str) for s in e) for e in edits):
        raise LabError(f"{where} ({entry['name']}): edits must be a non-empty list of [old, new] strings")
    return Mutant(entry["name"], entry["why"], tuple((old, new) for old, new in edits), entry.get("equivalent"))


def apply_mutant(lab: Lab, mutant: Mutant) -> str:
    """The solution's source with the mutant's edits made.

    Raises:
        LabError: An edit's text is missing or not unique, it lies outside every function the
            learner writes (a bug the learner could not make), or the result does not compile.
    """
    source = lab.solution_path().read_text("utf-8")
    spans = function_spans(source, lab.functions)
    where = f"{lab.path / MUTANTS_FILE} ({mutant.name})"
    for old, new in mutant.edits:
        count = source.count(old)
        if count != 1:
            raise LabError(f"{where}: edit text found {count} times in the solution, need exactly 1: {old[:60]!r}")
        at = source.index(old)
        first, last = source.count("\n", 0, at) + 1, source.count("\n", 0, at + len(old.rstrip("\n"))) + 1
        if not any(lo <= first and last <= hi for lo, hi in spans):
            raise LabError(f"{where}: edit at line {first} is outside the lab's functions {', '.join(lab.functions)}")
        source = source.replace(old, new)
    try:
        compile(source, where, "exec")
    except SyntaxError as exc:
        raise LabError(f"{where}: mutated solution does not compile: {exc.msg} (line {exc.lineno})") from None
    return source


def function_spans(source: str, qualnames: Sequence[str]) -> list[tuple[int, int]]:
    """First and last line of each named function (``Class.method`` or ``func``)."""
    spans: list[tuple[int, int]] = []
    wanted = set(qualnames)

    def walk(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + node.name
                if name in wanted and not isinstance(node, ast.ClassDef):
                    spans.append((node.lineno, node.end_lineno or node.lineno))
                walk(node.body, name + ".")

    walk(ast.parse(source).body, "")
    return spans


def mutant_file_name(lab: Lab) -> str:
    """File name under a mutants directory that ``load_impl`` picks for ``lab``."""
    return f"{lab.phase}__{lab.name}.py"


def write_round(labs: Sequence[Lab], k: int, out_dir: Path) -> list[tuple[Lab, Mutant]]:
    """Write each lab's ``k``-th mutant that must be killed into ``out_dir``; return which were written."""
    written = []
    for lab in labs:
        live = [m for m in read_mutants(lab) if m.equivalent is None]
        if k < len(live):
            (Path(out_dir) / mutant_file_name(lab)).write_text(apply_mutant(lab, live[k]), "utf-8")
            written.append((lab, live[k]))
    return written
