"""The pin: which upstream release every anchor refers to, and how to re-create that tree.

The TOML file is the machine's truth; UPSTREAM_PIN.md is generated from it for people (and kept
fresh by a test), so the two can never disagree.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from annotator import atomic
from annotator.errors import ConfigError
from annotator.tree_id import import_name

_HEX = re.compile(r"^[0-9a-f]+$")
_FIELDS = ("package", "version", "commit", "sdist", "sha256")
_TABLE = re.compile(r"^\s*\[")
_KEY = re.compile(r"^(\s*(\w+)\s*=\s*)")
_HEADER = (
    "# The upstream tree every anchor in this repository is checked against.\n"
    "# Rewritten only by `annotate rebase`; `annotate fetch` re-creates upstream/ from it.\n"
)


@dataclass(frozen=True)
class Pin:
    """One exact upstream release: its sdist and the git commit it was cut from."""

    package: str
    version: str
    commit: str
    sdist: str
    sha256: str

    def to_toml(self) -> str:
        """Serialise in a fixed key order so rewrites produce minimal diffs."""
        body = "".join(
            f'{key} = "{getattr(self, key)}"\n'
            for key in ("package", "version", "commit", "sdist", "sha256")
        )
        return _HEADER + body


def read(path: Path) -> Pin:
    """Load and validate a pin; any problem is a one-line ConfigError naming the file.

    The pin is either the whole file (UPSTREAM_PIN.toml) or the ``[pin]`` table of annotate.toml.
    """
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: pin file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if isinstance(data.get("pin"), dict):
        data = data["pin"]
    missing = [k for k in ("package", "version", "commit", "sdist", "sha256") if k not in data]
    if missing:
        raise ConfigError(f"{path}: missing key(s) {', '.join(missing)}")
    pin = Pin(**{k: str(data[k]) for k in ("package", "version", "commit", "sdist", "sha256")})
    if len(pin.sha256) != 64 or not _HEX.match(pin.sha256):
        raise ConfigError(f"{path}: sha256 must be 64 lowercase hex digits")
    if pin.commit and not _HEX.match(pin.commit):
        raise ConfigError(f"{path}: commit must be a hex git commit id, or \"\" for a package whose sdist records none")
    return pin


def file_text(path: Path, pin: Pin) -> str:
    """The new text of the file holding the pin.

    A ``[pin]`` table inside a larger file (annotate.toml) has only its five values replaced, so
    every other byte of the author's configuration stays; a pin file is written whole.
    """
    try:
        text = path.read_text("utf-8")
    except OSError:
        return pin.to_toml()
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _TABLE.match(line) and line.strip() == "[pin]"), None)
    if start is None:
        return pin.to_toml()
    for i in range(start + 1, len(lines)):
        if _TABLE.match(lines[i]):
            break
        key = _KEY.match(lines[i])
        if key and key.group(2) in _FIELDS:
            end = "\n" if lines[i].endswith("\n") else ""
            lines[i] = f'{key.group(1)}"{getattr(pin, key.group(2))}"{end}'
    return "".join(lines)


def write(path: Path, pin: Pin) -> None:
    """Atomically rewrite the pin where it lives (see :func:`file_text`)."""
    atomic.write_text(path, file_text(path, pin))


def render_page(pin: Pin, pin_file_name: str = "UPSTREAM_PIN.toml") -> str:
    """The human page: what is pinned and the exact commands that re-create the tree.

    The checks it describes are the ones ``fetch`` makes: the commit id in ``<pkg>/_version.py``
    where the pin names one, else the version in PKG-INFO (a package without a recorded commit).
    """
    version_file = f"{import_name(pin.package)}/_version.py"
    if pin.commit:
        cites, what = f" (git commit `{pin.commit}`)", f"the commit id recorded in `{version_file}`"
        grep = f"grep commit_id upstream/{version_file}   # must name {pin.commit}"
    else:
        cites, what = "", "the version recorded in `PKG-INFO` (the sdist records no commit id)"
        grep = f"grep '^Version:' upstream/PKG-INFO   # must say {pin.version}"
    return f"""# Upstream pin

<!-- Generated from {pin_file_name} by `annotate pin-page`; do not edit by hand. -->

Every anchor in this repository cites **{pin.package} {pin.version}**{cites}.

| field | value |
|---|---|
| package | `{pin.package}` |
| version | `{pin.version}` |
| commit | `{pin.commit}` |
| sdist | `{pin.sdist}` |
| sha256 | `{pin.sha256}` |

## Re-create the tree

```bash
annotate fetch
```

This downloads `{pin.sdist}` from the package index pip is configured with, checks its sha256
against the value above and {what}, and unpacks it into
`upstream/` (a second run with the tree in place does nothing). Without this tool: download
`{pin.sdist}` from the package index's simple page for `{pin.package}`, then

```bash
echo "{pin.sha256}  {pin.sdist}" | sha256sum -c -
mkdir upstream && tar -xzf {pin.sdist} -C upstream --strip-components=1
{grep}
```
"""
