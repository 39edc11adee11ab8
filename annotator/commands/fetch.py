"""``annotate fetch``: materialise the pinned tree in upstream/ (or another release in the cache)."""

from __future__ import annotations

import time

from annotator import fetch, pin
from annotator.commands.output import progress_bar, stdout
from annotator.config import Config


def run(config: Config, version: str | None = None, index_url: str | None = None) -> int:
    """Fetch the pin (or ``version``) and report where the tree is; errors raise FetchError."""
    console = stdout()
    the_pin = _pin_or_fail(config)
    started = time.perf_counter()
    with progress_bar() as update:
        if version is None or version.removeprefix("v") == the_pin.version:
            changed = fetch.fetch_pin(
                the_pin, config.upstream_dir, config.cache_dir, index_url, update
            )
            where, what = config.upstream_dir, f"{the_pin.package} {the_pin.version}"
        else:
            release, where = fetch.fetch_version(
                version, the_pin.package, config.cache_dir, index_url, update
            )
            changed, what = True, f"{release.package} {release.version}"
    seconds = time.perf_counter() - started
    verb = "fetched" if changed else "already in place:"
    console.print(f"{verb} {what} in {_rel(where, config)} ({seconds:.2f} s)")
    return 0


def _rel(path, config: Config) -> str:
    try:
        return str(path.relative_to(config.root)) + "/"
    except ValueError:
        return str(path)


def _pin_or_fail(config: Config) -> pin.Pin:
    """The configured pin; fetch never replaces a git checkout and needs a pin to know what to fetch."""
    from annotator.commands.upstream import configured_pin
    from annotator.errors import ConfigError, FetchError

    if (config.upstream_dir / ".git").exists():
        raise FetchError(
            f"{config.upstream_dir}: is a git checkout; annotate fetch never replaces it "
            "(move it with `git -C upstream checkout vX.Y.Z`)"
        )
    the_pin = configured_pin(config)
    if the_pin is None:
        raise ConfigError(
            f"{config.root}: no pin configured, so nothing to fetch; run `annotate init --version V` first"
        )
    return the_pin
