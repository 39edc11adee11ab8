"""Before any command runs: finish an interrupted rebase and remove leftovers of killed runs.

A rebase killed between its first and its last rename leaves an intent journal in its staging
directory beside upstream/; this completes it (or rolls it back), so documents, pin and tree agree
again before anything reads them. Staging directories of killed fetches, rebases and site builds
(a vendored tree each, possibly hundreds of MB) are removed. A directory whose owner still runs is
locked and left alone. Costs one directory listing when there is nothing to do.
"""

from __future__ import annotations

import sys
from pathlib import Path

from annotator.config import Config


def recover_pending(config: Config) -> Config:
    """Complete or undo an interrupted rebase of this project, then drop stale staging dirs.

    Returns ``config``, so the CLI's one place that loads the settings can wrap it in this call.
    """
    upstream = config.upstream_dir
    site = config.root / config.site.site_dir
    spots = [(upstream.parent, f".{upstream.name}-"), (site.parent, f".{site.name}-staging-")]
    if not any(_has_entry(parent, start) for parent, start in spots):
        return config
    from annotator import atomic
    from annotator.rebase import journal

    for tx in atomic.claim_stale(upstream.parent, journal.prefix(upstream)):
        for line in journal.recover(tx):
            print(f"note: {line}", file=sys.stderr)
    for parent, start in [(upstream.parent, f".{upstream.name}-staging-"), spots[1]]:
        for _ in atomic.claim_stale(parent, start):
            pass
    return config


def _has_entry(parent: Path, start: str) -> bool:
    try:
        return any(p.name.startswith(start) for p in parent.iterdir())
    except OSError:
        return False
