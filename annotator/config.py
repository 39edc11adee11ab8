"""The project's settings, discovered in one place so every command works in any repository.

Discovery, nearest first from the start directory up to the git top level (or the filesystem
root outside git): ``annotate.toml``, ``.annotate.toml``, then a pyproject.toml with a
``[tool.annotate]`` table. None found means zero-config: the root is the git top level (else the
start directory), the tree is ``upstream/`` under it, and the documents are every ``*.md`` outside
the tree, build outputs, ``node_modules/``, virtual environments and hidden folders — the way
ruff and pre-commit just run in a repository they have never seen.

Commands receive a :class:`Config`; nothing else reads configuration files or the environment,
so a test can build a whole project in ``tmp_path`` and point a command at it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from annotator.errors import ConfigError

CONFIG_FILES = ("annotate.toml", ".annotate.toml")
PYPROJECT = "pyproject.toml"
ZERO_CONFIG_DOCS = ("**/*.md",)
# A pyproject.toml table keeps the defaults this project has always had.
PYPROJECT_DOCS = ("annotations/**/*.md", "README.md", "minivllm/**/*.py")
DEFAULT_SUBSYSTEMS = ("vllm/engine", "vllm/v1/core", "vllm/v1/worker", "vllm/v1/attention")
# Folders that hold what we build or install, never course material.
SKIP_DIRS = frozenset({"site", "book", "node_modules", "__pycache__", "venv", "env", "build", "dist"})
_KEYS = frozenset({
    "upstream_dir", "pin_file", "pin_page", "docs", "exclude", "map_subsystems", "map_out",
    "roles_file", "site", "pin",
})


@dataclass(frozen=True)
class SiteOptions:
    """Options of the rendered website."""

    site_dir: str = "site"
    extra_source_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Resolved settings; every path is absolute.

    ``pin_file`` is the file holding the pin (a pin file, or annotate.toml's ``[pin]`` table); None
    means no pin is configured and the tree's own identity is what anchors are checked against.
    ``origins`` says, per setting, where its value came from (for ``annotate config``).
    """

    root: Path
    upstream_dir: Path
    pin_file: Path | None = None
    pin_page: Path | None = None
    docs: tuple[str, ...] = ZERO_CONFIG_DOCS
    exclude: tuple[str, ...] = ()
    map_subsystems: tuple[str, ...] = DEFAULT_SUBSYSTEMS
    map_out: Path | None = None
    roles_file: Path | None = None
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    site: SiteOptions = SiteOptions()
    source: Path | None = None
    origins: tuple[tuple[str, str], ...] = ()

    def doc_paths(self) -> list[Path]:
        """The configured documents: files under the root matching ``docs``, sorted.

        The walk is iterative and follows no symlinked folder; it never enters the upstream tree,
        the site directory, hidden folders, virtual environments or build outputs.
        """
        import pathspec

        wanted = pathspec.PathSpec.from_lines("gitignore", [_anchored(p) for p in self.docs])
        unwanted = pathspec.PathSpec.from_lines("gitignore", [_anchored(p) for p in self.exclude])
        skip = self.not_documents()
        found = []
        for path in walk_files(self.root, skip):
            rel = path.relative_to(self.root).as_posix()
            if wanted.match_file(rel) and not unwanted.match_file(rel):
                found.append(path)
        return sorted(found)

    def not_documents(self) -> set[Path]:
        """The folders a document walk never enters: the cited tree and the built site."""
        return {self.upstream_dir.resolve(), (self.root / self.site.site_dir).resolve()}

    def origin(self, key: str) -> str:
        """Where ``key`` came from: a file and table, an option, or ``default``."""
        return dict(self.origins).get(key, "default")


def walk_files(top: Path, skip: set[Path] = frozenset()) -> Iterator[Path]:
    """Every regular file under ``top``, in sorted order, without recursion or symlinked folders.

    An explicit stack, because a tree can be deeper than Python's recursion limit (and ``os.walk``
    recurses before 3.12); symlinked folders lead out of the project or round a loop. Skipped:
    hidden folders, folders named in :data:`SKIP_DIRS`, virtual environments (a folder holding
    ``pyvenv.cfg``) and the resolved folders in ``skip``. A symlinked file is kept only when it
    points inside ``top``.
    """
    top_resolved = top.resolve()
    stack = [top]
    while stack:
        here = stack.pop()
        with os.scandir(here) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        files = []
        for entry in entries:
            path = here / entry.name
            if entry.is_dir(follow_symlinks=False):
                if _enter(path, skip):
                    stack.append(path)
            elif entry.is_symlink():
                if _inside(path, top_resolved) and path.is_file():
                    files.append(path)
            elif entry.is_file(follow_symlinks=False):
                files.append(path)
        yield from files


def _enter(path: Path, skip: set[Path]) -> bool:
    name = path.name
    if name.startswith(".") or name in SKIP_DIRS:
        return False
    return not _is_venv(path) and not (skip and path.resolve() in skip)


def _is_venv(path: Path) -> bool:
    """A virtual environment holds ``pyvenv.cfg``; a path too long to stat is not one."""
    try:
        return os.path.isfile(os.path.join(path, "pyvenv.cfg"))
    except (OSError, ValueError):
        return False


def _inside(path: Path, top: Path) -> bool:
    try:
        return path.resolve().is_relative_to(top)
    except (OSError, RuntimeError):  # a link loop
        return False


def _anchored(pattern: str) -> str:
    """Globs are relative to the root: anchor them so ``README.md`` means the root's README only."""
    return pattern if pattern.startswith("/") else "/" + pattern


def default_cache_dir() -> Path:
    """The per-user cache (sdists, indexes); ``ANNOTATE_CACHE_DIR`` overrides it for tests and CI."""
    env = os.environ.get("ANNOTATE_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("annotate"))


def git_toplevel(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` (a folder or a worktree file)."""
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def discover(start: Path | None = None) -> tuple[Path, dict, str] | None:
    """The nearest configuration: (file, its annotate table, a label), or None for zero-config."""
    here = (start or Path.cwd()).resolve()
    top = git_toplevel(here)
    for d in (here, *here.parents):
        for name in CONFIG_FILES:
            if (d / name).is_file():
                return d / name, _read_toml(d / name), name
        pyproject = d / PYPROJECT
        if pyproject.is_file() and "[tool.annotate" in pyproject.read_text("utf-8", "replace"):
            table = _read_toml(pyproject).get("tool", {}).get("annotate")
            if isinstance(table, dict):
                return pyproject, table, f"{PYPROJECT} [tool.annotate]"
        if d == top:
            break
    return None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load(start: Path | None = None, *, upstream: Path | None = None) -> Config:
    """The settings for a command started in ``start`` (default: the cwd).

    Args:
        start: where discovery begins.
        upstream: the ``--upstream DIR`` option; it overrides any configured tree.
    """
    here = (start or Path.cwd()).resolve()
    found = discover(here)
    if found is None:
        root = git_toplevel(here) or here
        cfg = zero_config(root)
    else:
        path, table, label = found
        cfg = from_table(path.parent, table, source=path, label=label)
    if upstream is not None:
        origins = dict(cfg.origins) | {"upstream_dir": "--upstream"}
        cfg = replace(cfg, upstream_dir=upstream.resolve(), origins=tuple(origins.items()))
    return cfg


def zero_config(root: Path) -> Config:
    """Defaults for a repository with no configuration file."""
    where = "git top level" if (root / ".git").exists() else "working directory"
    return Config(
        root=root, upstream_dir=root / "upstream",
        origins=(("root", where), ("upstream_dir", "default"), ("docs", "default (zero-config)")),
    )


def from_table(root: Path, table: dict, *, source: Path | None = None, label: str = PYPROJECT) -> Config:
    """Build a Config from a parsed table, validating types as it goes.

    A pyproject.toml project keeps its historical defaults (UPSTREAM_PIN.toml beside it, its
    docs globs); an annotate.toml holds its pin in its own ``[pin]`` table unless ``pin_file``
    names another file.
    """
    where = source.name if source else label
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}; see `annotate config`")
    own_pin = source is not None and source.name in CONFIG_FILES and "pin" in table
    pin_default = source.name if own_pin else ("UPSTREAM_PIN.toml" if source is None or source.name == PYPROJECT else None)
    site = table.get("site", {})
    if not isinstance(site, dict):
        raise ConfigError(f"{where}: site must be a table")
    pin_name = _str(table, "pin_file", pin_default, where)
    page_default = "UPSTREAM_PIN.md" if pin_default == "UPSTREAM_PIN.toml" else None
    page_name = _str(table, "pin_page", page_default, where)
    origins = {key: label for key in table if key != "pin"}
    if own_pin:
        origins["pin_file"] = f"{label} [pin]"
    return Config(
        root=root,
        upstream_dir=root / _str(table, "upstream_dir", "upstream", where),
        pin_file=root / pin_name if pin_name else None,
        pin_page=root / page_name if page_name else None,
        docs=_strs(table, "docs", PYPROJECT_DOCS if where == PYPROJECT else ZERO_CONFIG_DOCS, where),
        exclude=_strs(table, "exclude", (), where),
        map_subsystems=_strs(table, "map_subsystems", DEFAULT_SUBSYSTEMS, where),
        map_out=root / _str(table, "map_out", "MAP.md", where),
        roles_file=root / _str(table, "roles_file", "annotations/roles.toml", where),
        site=SiteOptions(
            site_dir=_str(site, "site_dir", "site", where),
            extra_source_dirs=_strs(site, "extra_source_dirs", (), where),
        ),
        source=source,
        origins=(("root", f"directory of {where}"), *origins.items()),
    )


def _str(table: dict, key: str, default: str | None, where: str) -> str | None:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
    return value


def _strs(table: dict, key: str, default: tuple[str, ...], where: str) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def settings(cfg: Config) -> list[tuple[str, str, str]]:
    """(setting, value, origin) rows for ``annotate config``, in a fixed order."""
    def show(value) -> str:
        if isinstance(value, tuple):
            return ", ".join(value) or "(none)"
        if value is None:
            return "(none)"
        return str(value)

    return [
        ("config file", show(cfg.source) if cfg.source else "(none: zero-config)", "discovery"),
        ("root", str(cfg.root), cfg.origin("root")),
        ("upstream_dir", str(cfg.upstream_dir), cfg.origin("upstream_dir")),
        ("pin_file", show(cfg.pin_file), cfg.origin("pin_file")),
        ("pin_page", show(cfg.pin_page), cfg.origin("pin_page")),
        ("docs", show(cfg.docs), cfg.origin("docs")),
        ("exclude", show(cfg.exclude), cfg.origin("exclude")),
        ("map_subsystems", show(cfg.map_subsystems), cfg.origin("map_subsystems")),
        ("map_out", show(cfg.map_out), cfg.origin("map_out")),
        ("site.site_dir", cfg.site.site_dir, cfg.origin("site")),
        ("cache_dir", str(cfg.cache_dir), "ANNOTATE_CACHE_DIR" if os.environ.get("ANNOTATE_CACHE_DIR") else "platformdirs"),
    ]
