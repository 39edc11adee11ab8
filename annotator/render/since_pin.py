"""The site's "Since the pin" page: the review report of the latest ``annotate rebase --report``.

The report is produced by a rebase (it needs every release between the pin and the target), so
the site does not recompute it: ``annotate rebase --to V --dry-run --report SINCE_THE_PIN.md``
leaves it at the project root, and the build shows it as a page beside the map and the pin. Its
places are written ``path line N`` (see :func:`annotator.rebase.report.defuse`), so the page
holds no anchors to resolve against the pinned tree.
"""

from __future__ import annotations

from pathlib import Path

SINCE = "since-the-pin.md"  # the page's URI in the site
REPORT = "SINCE_THE_PIN.md"  # where the site looks for the report, relative to the project root


def report_file(root: Path) -> Path | None:
    """The saved review report at the project root, when there is one."""
    path = Path(root) / REPORT
    return path if path.is_file() else None
