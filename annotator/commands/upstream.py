"""Which tree a command checks against: the configured pin (if any) and the tree's own identity.

Every command that reads the upstream tree goes through :func:`checked_tree`, so a missing tree
and a pin that disagrees with the tree are the same one-line errors everywhere, and every summary
line can say what it checked against (``vllm 0.22.1 @ 0decac0, from upstream/.git``).
"""

from __future__ import annotations

from pathlib import Path

from annotator import pin
from annotator.config import Config
from annotator.errors import ConfigError, TreeMissingError
from annotator.records import TreeIdentity
from annotator.tree_id import commits_match, identify_tree

DEFAULT_PACKAGE = "vllm"  # what a repository that pins nothing is taken to cite


def configured_pin(config: Config) -> pin.Pin | None:
    """The pin, or None when the repository configures none.

    A pin file that is only a default (never named in a config file) and does not exist is no pin:
    a course repository with ``[tool.annotate]`` but no UPSTREAM_PIN.toml runs on the tree alone.
    """
    if config.pin_file is None:
        return None
    if not config.pin_file.exists() and config.origin("pin_file") == "default":
        return None
    return pin.read(config.pin_file)


def require_tree(config: Config, tree: Path | None = None) -> Path:
    """The tree a command reads; a one-line TreeMissingError saying how to make it when absent."""
    where = tree if tree is not None else config.upstream_dir
    if where.is_dir():
        return where
    if tree is not None:
        raise TreeMissingError(f"{where}: no such directory; pass an existing tree")
    how = (
        "run `annotate fetch` to materialise the pinned release"
        if config.pin_file is not None and config.pin_file.is_file()
        else "clone it there (`git clone https://github.com/vllm-project/vllm upstream`), "
        "run `annotate fetch --version V`, or point at one with `annotate init --upstream DIR`"
    )
    raise TreeMissingError(f"{where}: the upstream tree is not there; {how}")


def checked_tree(config: Config, tree: Path | None = None) -> tuple[Path, TreeIdentity]:
    """The tree and its identity, refusing a configured pin that names another release."""
    where, identity, _ = pinned_tree(config, tree)
    return where, identity


def pinned_tree(config: Config, tree: Path | None = None) -> tuple[Path, TreeIdentity, pin.Pin | None]:
    """The tree, its identity and the configured pin (read once), checked against each other.

    Raises:
        TreeMissingError: the tree is not there.
        ConfigError: the pin names a different version or commit than the tree records.
    """
    where = require_tree(config, tree)
    the_pin = configured_pin(config)
    identity = identify_tree(where, the_pin.package if the_pin else None)
    if the_pin is not None:
        _check_agrees(config, the_pin, identity)
    return where, identity, the_pin


def describe(identity: TreeIdentity, tree: Path) -> str:
    """What a summary line says it checked against; a tree that records nothing is named by path."""
    if identity.source == "unknown" or not identity.version:
        return f"{tree.name}/ (the tree records no version)"
    return identity.summary()


def _check_agrees(config: Config, the_pin: pin.Pin, identity: TreeIdentity) -> None:
    pin_name = config.pin_file.name if config.pin_file else "the pin"
    if identity.version and identity.version != the_pin.version:
        raise ConfigError(
            f"{pin_name}: pins {the_pin.package} {the_pin.version} but the tree is "
            f"{identity.summary()}; run `annotate fetch` or fix the pin"
        )
    if identity.commit and the_pin.commit and not commits_match(identity.commit, the_pin.commit):
        raise ConfigError(
            f"{pin_name}: pins commit {the_pin.commit} but the tree is {identity.summary()}; "
            "run `annotate fetch` or fix the pin"
        )
