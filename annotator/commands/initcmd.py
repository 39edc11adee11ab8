"""``annotate init``: write annotate.toml for a course repository that has none.

It records what discovery would otherwise guess each time — which markdown is course material,
where the tree is — and pins the tree it finds (package, version, commit, and the sdist's name
and sha256 from the package index), so CI later fails when the tree and the pin disagree.
"""

from __future__ import annotations

from pathlib import Path

from annotator import atomic, fetch, pin
from annotator.commands.output import stdout
from annotator.commands.upstream import DEFAULT_PACKAGE
from annotator.config import CONFIG_FILES, Config, zero_config
from annotator.errors import ConfigError
from annotator.tree_id import identify_tree


def run(config: Config, package: str | None, version: str | None, index_url: str | None) -> int:
    """Detect, pin and write; exit 2 (ConfigError) rather than overwrite any configuration."""
    if config.source is not None:
        raise ConfigError(f"{config.source}: this repository is already configured; not overwritten")
    target = config.root / CONFIG_FILES[0]
    if target.exists():
        raise ConfigError(f"{target}: already exists; not overwritten")
    docs = zero_config(config.root).doc_paths()
    globs = detect_globs(docs, config.root)
    the_pin, tree_note = _pin(config, package, version, index_url)
    atomic.write_text(target, render(config, globs, the_pin))
    _report(config, target, docs, tree_note, the_pin)
    return 0


def detect_globs(docs: list[Path], root: Path) -> list[str]:
    """One glob per top-level folder holding documents, plus each document at the root."""
    globs: set[str] = set()
    for path in docs:
        parts = path.relative_to(root).parts
        globs.add(parts[0] if len(parts) == 1 else f"{parts[0]}/**/*.md")
    return sorted(globs)


def _pin(config: Config, package: str | None, version: str | None, index_url: str | None):
    """The pin from the tree's identity, completed with the sdist's name and hash from the index."""
    identity = identify_tree(config.upstream_dir, package) if config.upstream_dir.is_dir() else None
    name = package or (identity.package if identity else None) or DEFAULT_PACKAGE
    wanted = version or (identity.version if identity else None)
    if wanted is None:
        where = config.upstream_dir
        raise ConfigError(f"{where}: cannot tell which release this tree is; pass --version V")
    release = fetch.resolve(wanted.removeprefix("v"), name, index_url or fetch.configured_index_url())
    if not release.sha256:
        raise ConfigError(f"{release.url}: the index gives no sha256 for this sdist; cannot pin it")
    commit = (identity.commit if identity and identity.commit else "") or ""
    note = identity.summary() if identity else f"{config.upstream_dir}: not there yet"
    return pin.Pin(name, release.version, commit, release.filename, release.sha256), note


def render(config: Config, globs: list[str], the_pin: pin.Pin) -> str:
    """The file's text: settings first, then the ``[pin]`` table that rebase rewrites."""
    upstream = _relative(config.upstream_dir, config.root)
    docs = ", ".join(f'"{g}"' for g in globs)
    body = "\n".join(f'{k} = "{getattr(the_pin, k)}"' for k in ("package", "version", "commit", "sdist", "sha256"))
    return (
        "# annotate's settings for this repository (written by `annotate init`; see `annotate config`).\n"
        f'upstream_dir = "{upstream}"\n'
        f"# Markdown whose `path:line — Symbol` citations `annotate verify` checks.\n"
        f"docs = [{docs}]\n\n"
        "# The release every citation refers to; moved only by `annotate rebase`.\n"
        f"[pin]\n{body}\n"
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _report(config: Config, target: Path, docs: list[Path], tree_note: str, the_pin: pin.Pin) -> None:
    from annotator.anchors import scan_file
    from annotator.errors import InputError

    count = 0
    for path in docs:
        try:
            count += len(scan_file(path))
        except InputError:
            continue
    console = stdout()
    console.print(f"wrote {target.name}: {len(docs)} documents, {count} anchors; tree: {tree_note}", markup=False)
    console.print(f"pinned {the_pin.package} {the_pin.version} ({the_pin.sdist}, sha256 {the_pin.sha256[:12]}…)", markup=False)
    nxt = "annotate verify" if config.upstream_dir.is_dir() else "annotate fetch && annotate verify"
    console.print(f"next: {nxt}", markup=False)
