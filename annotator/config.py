"""The project's settings, read in one place from ``[tool.annotate]`` in pyproject.toml.

Commands receive a :class:`Config`; nothing else reads pyproject.toml or the environment, so a
test can build a whole project in ``tmp_path`` and point a command at it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from annotator.errors import ConfigError

DEFAULT_DOCS = ("annotations/**/*.md", "README.md", "minivllm/**/*.py")
DEFAULT_SUBSYSTEMS = ("vllm/engine", "vllm/v1/core", "vllm/v1/worker", "vllm/v1/attention")


@dataclass(frozen=True)
class SiteOptions:
    """Options of the rendered website."""

    site_dir: str = "site"
    extra_source_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Resolved settings; every path is absolute."""

    root: Path
    upstream_dir: Path
    pin_file: Path
    pin_page: Path
    docs: tuple[str, ...] = DEFAULT_DOCS
    map_subsystems: tuple[str, ...] = DEFAULT_SUBSYSTEMS
    map_out: Path | None = None
    roles_file: Path | None = None
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    site: SiteOptions = SiteOptions()

    def doc_paths(self) -> list[Path]:
        """The configured documents, expanded from their globs, sorted and de-duplicated."""
        found: set[Path] = set()
        for pattern in self.docs:
            found.update(p for p in self.root.glob(pattern) if p.is_file())
        skip = {self.upstream_dir, self.root / self.site.site_dir}
        return sorted(p for p in found if not any(s in p.parents for s in skip))


def default_cache_dir() -> Path:
    """The per-user cache (sdists, indexes); ``ANNOTATE_CACHE_DIR`` overrides it for tests and CI."""
    env = os.environ.get("ANNOTATE_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("annotate"))


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` whose pyproject.toml has ``[tool.annotate]``."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file() and "[tool.annotate" in candidate.read_text("utf-8", "replace"):
            return d
    raise ConfigError(
        f"{here}: no pyproject.toml with a [tool.annotate] table here or above; "
        "run annotate from inside the project"
    )


def load(start: Path | None = None) -> Config:
    """Read ``[tool.annotate]`` of the project containing ``start`` (default: the cwd)."""
    root = find_root(start)
    pyproject = root / "pyproject.toml"
    try:
        table = tomllib.loads(pyproject.read_text("utf-8"))["tool"]["annotate"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"{pyproject}: cannot read [tool.annotate]: {exc}") from None
    return from_table(root, table)


def from_table(root: Path, table: dict) -> Config:
    """Build a Config from a parsed ``[tool.annotate]`` table, validating types as it goes."""
    site = table.get("site", {})
    return Config(
        root=root,
        upstream_dir=root / _str(table, "upstream_dir", "upstream"),
        pin_file=root / _str(table, "pin_file", "UPSTREAM_PIN.toml"),
        pin_page=root / _str(table, "pin_page", "UPSTREAM_PIN.md"),
        docs=_strs(table, "docs", DEFAULT_DOCS),
        map_subsystems=_strs(table, "map_subsystems", DEFAULT_SUBSYSTEMS),
        map_out=root / _str(table, "map_out", "MAP.md"),
        roles_file=root / _str(table, "roles_file", "annotations/roles.toml"),
        site=SiteOptions(
            site_dir=_str(site, "site_dir", "site"),
            extra_source_dirs=_strs(site, "extra_source_dirs", ()),
        ),
    )


def _str(table: dict, key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"pyproject.toml: [tool.annotate] {key} must be a string, got {value!r}")
    return value


def _strs(table: dict, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"pyproject.toml: [tool.annotate] {key} must be a list of strings")
    return tuple(value)
