"""``annotate build``: the main job, one command from a fresh clone to a browsable site.

Steps, in order: fetch the pinned tree if needed, regenerate the pin page, verify every anchor,
write MAP.md, build the site. Without a configured pin (or with upstream/ a git clone) there is
nothing to fetch, and without a pin page nothing to regenerate: those steps are left out. Every
step runs even when an earlier one finds broken anchors, so one run shows everything; the exit
code is the worst step's.
"""

from __future__ import annotations

import time

from annotator.commands.output import stdout
from annotator.config import Config


def run(config: Config, strict: bool = True) -> int:
    """Run the pipeline; returns 0, 1 (broken anchors) or 2 (an error stopped a step)."""
    from annotator.commands import fetch, mapcmd, pinpage, site, verify

    from annotator.commands.upstream import configured_pin
    from annotator.tree_id import is_checkout

    console = stdout()
    pinned = configured_pin(config) is not None
    cloned = is_checkout(config.upstream_dir)
    steps = [
        *([("fetch", lambda: fetch.run(config))] if pinned and not cloned else []),
        *([("pin page", lambda: pinpage.run(config))] if pinned and config.pin_page else []),
        ("verify", lambda: verify.run(config, [], "text", None)),
        ("map", lambda: mapcmd.run(config, None, None)),
        ("site", lambda: site.run(config, strict)),
    ]
    worst = 0
    for name, step in steps:
        started = time.perf_counter()
        console.rule(f"[bold]{name}")
        code = step()
        console.print(f"{name}: exit {code} ({time.perf_counter() - started:.1f} s)")
        worst = max(worst, code)
        if code == 2:
            break
    return worst
