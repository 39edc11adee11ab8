"""README's quick start is exactly what CI runs, so a missing install step fails CI."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_start_commands_are_what_ci_runs():
    """The two commands of README's quick start appear, in order, as lines of .ci/run."""
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## Quick start"):]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines()]
    positions = [ci.index(c) for c in commands]
    assert positions == sorted(positions)
