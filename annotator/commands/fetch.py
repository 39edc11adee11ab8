"""``annotate fetch``: materialise the pinned tree in upstream/ (or another release in the cache).

Without a pin (a course repository that configures none) ``--version V`` materialises that
release of ``--package`` (default vllm) in upstream/, trusting the index's sha256 and checking
the tree's own PKG-INFO version; ``annotate init`` then pins what is there.
"""

from __future__ import annotations

import time
from pathlib import Path

from annotator import fetch
from annotator.commands.output import progress_bar, stdout
from annotator.commands.upstream import DEFAULT_PACKAGE, checked_tree, configured_pin, describe
from annotator.config import Config
from annotator.errors import ConfigError
from annotator.tree_id import identify_tree, is_checkout


def run(
    config: Config, version: str | None = None, index_url: str | None = None, package: str | None = None
) -> int:
    """Fetch the pin (or ``version``) and report where the tree is; errors raise FetchError."""
    the_pin = configured_pin(config)
    if the_pin is not None and package and fetch.normalise(package) != fetch.normalise(the_pin.package):
        raise ConfigError(
            f"{config.pin_file}: pins {the_pin.package}, not {package}; drop --package or change the pin"
        )
    if is_checkout(config.upstream_dir):
        return _checkout(config)
    started = time.perf_counter()
    with progress_bar() as update:
        if the_pin is not None and (version is None or version.removeprefix("v") == the_pin.version):
            changed = fetch.fetch_pin(the_pin, config.upstream_dir, config.cache_dir, index_url, update)
            where = config.upstream_dir
        elif the_pin is not None:
            release, where = fetch.fetch_version(
                version, the_pin.package, config.cache_dir, index_url, update
            )
            changed = True
        else:
            changed, where = _fetch_unpinned(config, version, package, index_url, update)
    seconds = time.perf_counter() - started
    identity = identify_tree(where, the_pin.package if the_pin else package)
    at = f" @ {identity.commit[:7]}" if identity.commit else ""
    verb = "fetched" if changed else "already in place:"
    what = f"{identity.package} {identity.version}{at}"
    stdout().print(f"{verb} {what} in {_rel(where, config)} ({seconds:.2f} s)")
    return 0


def _checkout(config: Config) -> int:
    """A git checkout in upstream/ is the user's: never replaced, only checked against the pin."""
    where, identity = checked_tree(config)
    stdout().print(
        f"already in place: {describe(identity, where)} (a git checkout; fetch leaves it alone, "
        f"move it with `git -C {_rel(where, config)} checkout <tag>`)"
    )
    return 0


def _fetch_unpinned(
    config: Config, version: str | None, package: str | None, index_url: str | None, update
) -> tuple[bool, Path]:
    """No pin: ``--version`` names the release; it goes to upstream/ itself."""
    if version is None:
        raise ConfigError(
            f"{config.root}: no pin configured; pin a release with `annotate init --version V "
            "[--package NAME]` then run `annotate fetch`, or fetch one unpinned with "
            "`annotate fetch --version V [--package NAME]`"
        )
    index = index_url or fetch.configured_index_url()
    release = fetch.resolve(version, package or DEFAULT_PACKAGE, index)
    if not release.sha256:
        raise ConfigError(f"{release.url}: the index gives no sha256 for this sdist; refusing it")
    changed = fetch.materialise(
        release, release.sha256, None, config.upstream_dir, config.cache_dir, update
    )
    return changed, config.upstream_dir


def _rel(path: Path, config: Config) -> str:
    try:
        return str(path.relative_to(config.root)) + "/"
    except ValueError:
        return str(path)
