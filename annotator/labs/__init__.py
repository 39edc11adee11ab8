"""The engine labs: find them, read their ``lab.toml``, generate their starters, load an implementation.

A lab lives in ``annotations/phase-NN-*/labs/lab-NN-*/`` beside the phase it teaches. Its
``lab.toml`` names the solution — a ``solution.py`` beside it, or the dotted name of the minivllm
module that *is* the solution, so the engine's code never exists twice — and the functions the
learner writes. The starter is never written by hand: :func:`make_starter` takes the solution's
source and blanks exactly those functions (signature, docstring and ``# TODO`` hints stay), so a
freshness check can prove every committed starter still matches its solution.

Tests pick the implementation with ``LAB_IMPL`` (``solution`` by default, ``starter``, a path
to any file, or a directory of mutants) through :func:`load_impl`, one line at the top of each
``test_lab.py``. ``mutants.toml`` beside a lab lists plausible learner bugs its tests must catch
(:mod:`annotator.labs.mutants`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from annotator.labs.index_page import INDEX_PAGE, phase_title, render_index
from annotator.labs.model import (
    IMPL_ENV,
    LAB_GLOB,
    STUB_COMMAND,
    TAGS,
    Lab,
    LabError,
    discover,
    read_lab,
    recommended_order,
)
from annotator.labs.mutants import MUTANTS_FILE, Mutant, apply_mutant, mutant_file_name, read_mutants, write_round
from annotator.labs.stub import blank_functions, make_starter

__all__ = [
    "IMPL_ENV", "INDEX_PAGE", "LAB_GLOB", "MUTANTS_FILE", "STUB_COMMAND", "TAGS", "Lab", "LabError",
    "Mutant", "apply_mutant", "blank_functions", "discover", "find", "generated_files", "impl_env",
    "load_impl", "make_starter", "mutant_file_name", "phase_title", "pytest_args", "read_lab",
    "read_mutants", "recommended_order", "render_index", "stale", "stale_files", "write_round",
]  # fmt: skip


def find(labs: Sequence[Lab], wanted: str) -> Lab:
    """The lab named ``PHASE/LAB`` or by a unique ``LAB`` folder name."""
    wanted = wanted.strip().strip("/")
    matches = [lab for lab in labs if wanted in (lab.lab_id, lab.name)]
    if len(matches) == 1:
        return matches[0]
    close = [lab.lab_id for lab in labs if wanted in lab.lab_id][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else "; see: annotate lab list"
    raise LabError(f"{wanted}: no such lab{hint}")


def generated_files(root: Path, labs: Sequence[Lab]) -> dict[Path, str]:
    """Every file ``annotate lab stub`` owns — each lab's starter and the index page — and its text."""
    files = {lab.path / "starter.py": make_starter(lab) for lab in labs}
    files[Path(root) / INDEX_PAGE] = render_index(labs)
    return files


def stale_files(root: Path, labs: Sequence[Lab]) -> list[Path]:
    """Generated files whose committed text differs from what the generator produces now."""
    return stale(generated_files(root, labs))


def stale(wanted: Mapping[Path, str]) -> list[Path]:
    """The files of ``wanted`` (from :func:`generated_files`) whose text on disk differs."""
    return [
        path for path, text in wanted.items() if not path.is_file() or path.read_text("utf-8") != text
    ]


def load_impl(test_file: str | Path) -> ModuleType:
    """The implementation a lab's tests run against, chosen by ``LAB_IMPL``.

    ``solution`` (default) imports the solution; ``starter`` loads the lab's ``starter.py``;
    a directory holds one mutant per lab (:func:`mutant_file_name`; a lab without one there gets
    its solution), so one test run can try a mutant of every lab; anything else is taken as a
    path to a Python file (a learner's own copy).
    """
    lab = read_lab(Path(test_file).resolve().parent)
    choice = os.environ.get(IMPL_ENV, "solution") or "solution"
    if choice not in ("solution", "starter") and Path(choice).is_dir():
        mutant = Path(choice) / mutant_file_name(lab)
        choice = str(mutant) if mutant.is_file() else "solution"
    if choice == "solution" and lab.solution_is_module:
        return importlib.import_module(lab.solution)
    if choice == "solution":
        path = lab.solution_path()
    elif choice == "starter":
        path = lab.path / "starter.py"
    else:
        path = Path(choice).resolve()
    return _load_file(path, _module_name(lab, path))


def _module_name(lab: Lab, path: Path) -> str:
    slug = f"{lab.phase}_{lab.name}_{path.stem}"
    return "_lab_" + "".join(c if c.isalnum() else "_" for c in slug)


def _load_file(path: Path, name: str) -> ModuleType:
    """Import ``path`` as module ``name`` (registered first: dataclasses look themselves up)."""
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise LabError(f"{path}: no such Python file (check {IMPL_ENV})")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def pytest_args(lab: Lab, *extra: str) -> list[str]:
    """Command line that runs one lab's tests (importlib mode: every lab has a ``test_lab.py``)."""
    return [
        sys.executable, "-m", "pytest", str(lab.path / "test_lab.py"),
        "--import-mode=importlib", "-p", "no:cacheprovider", *extra,
    ]  # fmt: skip


def impl_env(starter: bool) -> dict[str, str]:
    """The environment for a test run against the starter or the solution."""
    return {**os.environ, IMPL_ENV: "starter" if starter else "solution"}
