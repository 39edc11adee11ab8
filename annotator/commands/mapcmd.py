"""``annotate map``: write MAP.md (per file: role, importers, callers; a subsystem import diagram).

The subsystems default to ``map_subsystems`` in ``[tool.annotate]``; DIR arguments replace them.
Files whose role is missing (no module docstring, no sentence in the role file) are listed on
stderr so the gap is seen, but the map is still written.
"""

from __future__ import annotations

from pathlib import Path

from annotator.commands.index import call_graph_of, load_files, tree_or_fail
from annotator.commands.output import stderr, stdout
from annotator.config import Config
from annotator.errors import AnnotateError, InputError


def run(config: Config, dirs: list[str] | None, out: Path | None) -> int:
    """Build the map of ``dirs`` (default: the configured subsystems) and write it atomically."""
    from annotator import atomic, mapdoc

    tree = tree_or_fail(config, None)
    subsystems = tuple(d.strip("/") for d in (dirs or default_subsystems(config, tree)))
    for sub in subsystems:
        if not (tree / sub).is_dir():
            raise InputError(f"{sub}: not a directory of the tree {tree}; pass one that is")
    roles = mapdoc.read_roles(config.roles_file)
    files = load_files(config, tree)
    calls = call_graph_of(config, tree)
    data, text = mapdoc.generate(files, subsystems, roles, _source(config, tree), calls)
    target = out or config.map_out or config.root / "MAP.md"
    atomic.write_text(target, text)
    n_rows = sum(len(rows) for rows in data.rows.values())
    for path in data.missing:
        stderr().print(f"warning: {path}: no role sentence (no module docstring, none in the role file)")
    stdout().print(
        f"wrote {_shown(target, config)}: {n_rows} files in {len(subsystems)} subsystems, "
        f"{len(data.missing)} without a role"
    )
    return 0


def default_subsystems(config: Config, tree: Path) -> tuple[str, ...]:
    """The configured subsystems; unconfigured, those of the defaults the tree has, else its packages.

    The defaults name vLLM's engine folders; another upstream (or a foreign course with no
    configuration) gets a map of its top-level packages instead of an error.
    """
    if config.origin("map_subsystems") != "default":
        return config.map_subsystems
    present = tuple(d for d in config.map_subsystems if (tree / d).is_dir())
    return present or tuple(sorted(p.name for p in tree.iterdir() if (p / "__init__.py").is_file()))


def _source(config: Config, tree: Path) -> str:
    """How MAP.md names the tree: the pinned release when the tree is the pinned one."""
    from annotator import mapdoc, pin

    if tree == config.upstream_dir and config.pin_file is not None:
        try:
            return mapdoc.source_label(pin.read(config.pin_file))
        except AnnotateError:
            pass
    return f"the tree `{tree.name}/`"


def _shown(path: Path, config: Config) -> str:
    try:
        return str(path.resolve().relative_to(config.root.resolve()))
    except ValueError:
        return str(path)
