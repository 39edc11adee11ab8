"""A lab's metadata (``lab.toml``) as a record, and the order labs are best done in."""

from __future__ import annotations

import heapq
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from annotator.errors import AnnotateError

IMPL_ENV = "LAB_IMPL"
TAGS = ("CPU-OK", "GPU-OPT", "GPU-REQ")
LAB_GLOB = "annotations/phase-*/labs/lab-*/lab.toml"
STUB_COMMAND = "annotate lab stub"


class LabError(AnnotateError):
    """A lab's metadata or solution is malformed, or a named lab does not exist."""


@dataclass(frozen=True)
class Lab:
    """One lab as its ``lab.toml`` describes it.

    Attributes:
        path: The lab's directory (absolute).
        title: A short name for listings.
        tag: ``CPU-OK`` (runs on a laptop), ``GPU-OPT`` (CPU path plus optional GPU tests) or
            ``GPU-REQ`` (needs a GPU).
        skills: What the learner practises, a few words each.
        solution: ``solution.py`` (in the lab) or a dotted minivllm module name.
        functions: Qualified names (``Class.method``, ``func``) blanked in the starter.
        hints: Per function, the ``# TODO`` lines placed in its blank body.
        prerequisites: Lab ids worth doing first.
    """

    path: Path
    title: str
    tag: str
    skills: tuple[str, ...]
    solution: str
    functions: tuple[str, ...]
    hints: tuple[tuple[str, tuple[str, ...]], ...] = ()
    prerequisites: tuple[str, ...] = ()

    @property
    def phase(self) -> str:
        """The phase folder name, e.g. ``phase-02-paged-attention``."""
        return self.path.parent.parent.name

    @property
    def name(self) -> str:
        """The lab folder name, e.g. ``lab-01-free-block-queue``."""
        return self.path.name

    @property
    def lab_id(self) -> str:
        """``PHASE/LAB``, the name learners type."""
        return f"{self.phase}/{self.name}"

    @property
    def root(self) -> Path:
        """The project root (the lab sits at ``annotations/PHASE/labs/LAB``)."""
        return self.path.parents[3]

    @property
    def solution_is_module(self) -> bool:
        """True when the solution is a minivllm module rather than a file in the lab."""
        return not self.solution.endswith(".py")

    def solution_path(self) -> Path:
        """The file holding the solution's source."""
        if self.solution_is_module:
            return self.root / (self.solution.replace(".", "/") + ".py")
        return self.path / self.solution

    def to_json(self) -> dict[str, object]:
        """Plain dict for ``annotate lab list --format json``."""
        return {
            "id": self.lab_id,
            "phase": self.phase,
            "name": self.name,
            "title": self.title,
            "tag": self.tag,
            "skills": list(self.skills),
            "solution": self.solution,
            "functions": list(self.functions),
            "prerequisites": list(self.prerequisites),
        }


def read_lab(lab_dir: Path) -> Lab:
    """Parse and validate ``lab_dir/lab.toml``; errors name the file and what to fix."""
    toml_path = lab_dir / "lab.toml"
    try:
        data = tomllib.loads(toml_path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LabError(f"{toml_path}: cannot read lab metadata: {exc}") from None
    missing = [k for k in ("title", "tag", "skills", "solution", "functions") if k not in data]
    if missing:
        raise LabError(f"{toml_path}: missing key(s) {', '.join(missing)}")
    if data["tag"] not in TAGS:
        raise LabError(f"{toml_path}: tag must be one of {', '.join(TAGS)}, not {data['tag']!r}")
    hints = data.get("hints", {})
    strays = sorted(set(hints) - set(data["functions"]))
    if strays:
        raise LabError(f"{toml_path}: hints for {', '.join(strays)}, which is not in functions")
    return Lab(
        path=lab_dir.resolve(),
        title=str(data["title"]),
        tag=data["tag"],
        skills=tuple(data["skills"]),
        solution=str(data["solution"]),
        functions=tuple(data["functions"]),
        hints=tuple((k, tuple(v)) for k, v in sorted(hints.items())),
        prerequisites=tuple(data.get("prerequisites", ())),
    )


def discover(root: Path) -> list[Lab]:
    """Every lab of the project at ``root``, in phase order, then lab number."""
    return [read_lab(p.parent) for p in sorted(Path(root).glob(LAB_GLOB))]


def recommended_order(labs: Sequence[Lab]) -> list[Lab]:
    """Phase order, except that every lab comes after its prerequisites (a stable topological sort).

    Raises:
        LabError: A prerequisite names no lab, or prerequisites form a cycle.
    """
    index = {lab.lab_id: i for i, lab in enumerate(labs)}
    waiting_on = {lab.lab_id: set(lab.prerequisites) for lab in labs}
    for lab in labs:
        unknown = waiting_on[lab.lab_id] - index.keys()
        if unknown:
            raise LabError(f"{lab.path / 'lab.toml'}: unknown prerequisite {', '.join(sorted(unknown))}")
    ready = [i for i, lab in enumerate(labs) if not lab.prerequisites]
    heapq.heapify(ready)
    order: list[Lab] = []
    while ready:
        lab = labs[heapq.heappop(ready)]
        order.append(lab)
        for other, needs in waiting_on.items():
            if lab.lab_id in needs:
                needs.discard(lab.lab_id)
                if not needs:
                    heapq.heappush(ready, index[other])
    if len(order) != len(labs):
        stuck = sorted(set(index) - {lab.lab_id for lab in order})
        raise LabError(f"prerequisites form a cycle among {', '.join(stuck)}")
    return order
