"""``annotate lab list|test|stub``: the learner's entry points to the engine labs."""

from __future__ import annotations

import json
import subprocess

from annotator import atomic, labs
from annotator.commands.output import stdout
from annotator.config import Config


def run_list(config: Config, fmt: str = "text") -> int:
    """Print every lab in the recommended order (``--format json``: one JSON array)."""
    found = labs.discover(config.root)
    if fmt == "json":
        print(json.dumps([lab.to_json() for lab in found], indent=2))
        return 0
    console = stdout()
    phase = None
    for lab in found:
        if lab.phase != phase:
            phase = lab.phase
            console.print(labs.phase_title(phase))
        console.print(f"  {lab.lab_id:<62} {lab.tag:<8} {lab.title}", markup=False)
    console.print(f"{len(found)} labs", markup=False)
    return 0


def run_test(config: Config, lab: str, starter: bool = False) -> int:
    """Run one lab's tests in a child pytest (its exit code is ours) against solution or starter."""
    target = labs.find(labs.discover(config.root), lab)
    which = "starter.py" if starter else f"the solution ({target.solution})"
    stdout().print(f"testing {target.lab_id} against {which}", markup=False)
    args = labs.pytest_args(target, "-q")
    return subprocess.run(args, cwd=config.root, env=labs.impl_env(starter)).returncode


def run_stub(config: Config, check: bool = False) -> int:
    """Regenerate the starters and the index page; with ``check`` only list stale ones (exit 1)."""
    wanted = labs.generated_files(config.root, labs.discover(config.root))
    stale = labs.stale(wanted)
    console = stdout()
    if check:
        for path in stale:
            console.print(f"stale: {path.relative_to(config.root)}", markup=False)
        if stale:
            console.print(f"regenerate with: {labs.STUB_COMMAND}", markup=False)
        return 1 if stale else 0
    atomic.write_many({path: wanted[path].encode("utf-8") for path in stale})
    console.print(f"{len(stale)} file(s) rewritten, {len(wanted) - len(stale)} already fresh")
    return 0
