"""``annotate config``: the resolved settings and where each came from.

Discovery has several sources (annotate.toml, .annotate.toml, pyproject.toml, defaults, options);
when a command does something unexpected, this is the one place a user sees what it used.
"""

from __future__ import annotations

import json
import sys

from annotator.config import Config, settings


def run(config: Config, fmt: str) -> int:
    """Print the settings as a table (text) or one JSON object per setting (json)."""
    rows = settings(config)
    if fmt == "json":
        body = [{"setting": k, "value": v, "from": o} for k, v, o in rows]
        sys.stdout.write(json.dumps(body, indent=1) + "\n")
        return 0
    from rich.table import Table
    from rich.text import Text

    from annotator.commands.output import stdout

    table = Table("setting", "value", "from", box=None, pad_edge=False)
    for key, value, origin in rows:
        table.add_row(Text(key), Text(value), Text(origin))  # Text: "[tool.annotate]" is no markup
    stdout().print(table)
    return 0
