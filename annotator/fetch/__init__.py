"""Materialise an upstream release from its sdist: resolve, download, check, unpack, swap.

Nothing is trusted until it is checked: the sha256 (from the pin, or the index's hash), the
commit id the sdist records in ``<pkg>/_version.py`` (or, lacking one, its PKG-INFO version), and
every archive member's path, type and size. Every read is bounded (:class:`Limits`). The
destination changes only by a final rename, so any failure leaves it as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from annotator import atomic
from annotator.errors import FetchError
from annotator.fetch.net import Limits, one_line, open_url
from annotator.fetch.simple import Release, list_sdists, normalise
from annotator.fetch.archive import unpack
from annotator.pin import Pin
from annotator.tree_id import commits_match, identify_tree, is_checkout

__all__ = [
    "MARKER", "Limits", "Release", "check_commit", "configured_index_url", "download",
    "fetch_pin", "fetch_version", "list_sdists", "materialise", "normalise", "read_marker", "resolve",
    "sha256_file", "unpack",
]

MARKER = ".annotate-fetch.json"
Progress = Callable[[str, int, int | None], None]  # (phase, done, total)


def configured_index_url() -> str:
    """The simple index pip is configured with (``ANNOTATE_INDEX_URL`` first, for tests)."""
    for var in ("ANNOTATE_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(var):
            return os.environ[var]
    from pip._internal.configuration import Configuration, ConfigurationError

    try:  # read pip's own configuration files in-process; a subprocess costs ~1 s
        conf = Configuration(isolated=False)
        conf.load()
        for key, value in conf.items():
            if key.endswith(".index-url") and value:
                return str(value)
    except ConfigurationError:
        pass
    from pip._internal.models.index import PyPI  # pip's own default, so we name no host here

    return PyPI.simple_url


def resolve(spec: str, package: str, index_url: str, limits: Limits | None = None) -> Release:
    """``0.22.1`` → that release; ``v0.23`` → the newest final ``0.23.*`` (prereleases ignored)."""
    from packaging.version import InvalidVersion, Version

    wanted = spec.removeprefix("v")
    candidates = []
    for rel in list_sdists(package, index_url, limits or Limits.from_env()):
        try:
            version = Version(rel.version)
        except InvalidVersion:
            continue
        if rel.version == wanted or str(version) == wanted:
            return rel
        if not version.is_prerelease and str(version).startswith(wanted + "."):
            candidates.append((version, rel))
    if not candidates:
        raise FetchError(f"{index_url}: no sdist of {package} matches version {spec!r}")
    return max(candidates, key=lambda pair: pair[0])[1]


def download(
    release: Release, cache_dir: Path, expected_sha: str, progress: Progress, limits: Limits | None = None
) -> Path:
    """Download the sdist into the cache (reusing a cached copy whose hash matches).

    The bytes go to ``.<name>.part`` beside the target, renamed in only once the hash matches;
    the partial file is removed on every way out (a later run overwrites one a kill left).
    """
    target = cache_dir / "sdists" / release.filename
    tmp = _partial(target)
    if target.is_file() and sha256_file(target) == expected_sha:
        return target
    limits = limits or Limits.from_env()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = _download_to(release.url, tmp, progress, limits)
        if digest != expected_sha:
            raise FetchError(
                f"{release.url}: sha256 mismatch (got {digest}, expected {expected_sha}); "
                "nothing was changed"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise FetchError(f"{target}: cannot write the download ({one_line(exc)})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _partial(target: Path) -> Path:
    """The partial-download name of ``target``; one a killed run left is removed now."""
    tmp = target.with_name(f".{target.name}.part")
    tmp.unlink(missing_ok=True)
    return tmp


def _download_to(url: str, tmp: Path, progress: Progress, limits: Limits) -> str:
    digest = hashlib.sha256()
    with open_url(url, limits, "download_bytes", "download failed") as body, open(tmp, "wb") as out:
        done = 0
        for chunk in body.chunks():
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            progress("download", done, body.length)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The file's sha256, read in chunks (sdists are tens of megabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_commit(tree: Path, commit: str, package: str = "vllm", version: str | None = None) -> None:
    """The sdist must be the release the pin names: same commit id, else same PKG-INFO version.

    A pin with an empty commit is for a package whose sdist records none; then the version is
    what is compared. A pin naming a commit the sdist does not record is refused.
    """
    ident = identify_tree(tree, package)
    where = ident.source.partition("/")[2] or ident.source  # the record, relative to the tree
    if commit:
        if ident.commit is None:
            raise FetchError(
                f"{package}: the sdist records no commit id; the pin names {commit} "
                "(set commit = \"\" in the pin for a package without one)"
            )
        if not commits_match(ident.commit, commit):
            raise FetchError(f"{where}: commit {ident.commit} does not match the pin's {commit}")
    if version and ident.version and not _same_version(ident.version, version):
        raise FetchError(f"{where}: version {ident.version} does not match the pin's {version}")


def _same_version(a: str, b: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def read_marker(tree: Path) -> dict[str, str] | None:
    """The record ``fetch`` leaves in a tree it made (package, version, sha256); None if absent."""
    try:
        return json.loads((tree / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _holds(tree: Path, version: str, sha: str) -> bool:
    """Whether ``tree`` was materialised from exactly this sdist (its marker says so)."""
    marker = read_marker(tree)
    return bool(marker) and marker.get("sha256") == sha and marker.get("version") == version


def materialise(
    release: Release, sha: str, commit: str | None, dest: Path, cache_dir: Path, progress: Progress,
    limits: Limits | None = None,
) -> bool:
    """Make ``dest`` hold ``release``; False (and no work) when it already does."""
    if _holds(dest, release.version, sha):
        return False
    limits = limits or Limits.from_env()
    sdist = download(release, cache_dir, sha, progress, limits)
    _install(sdist, Pin(release.package, release.version, commit or "", sdist.name, sha), dest, progress, limits)
    return True


def _install(sdist: Path, pin: Pin, dest: Path, progress: Progress, limits: Limits) -> None:
    """Unpack a verified sdist and swap it in as ``dest``.

    The tree is built in a sibling staging directory and swapped in by two renames; the old tree
    is deleted only after the new one is in place, so a failure at any step leaves ``dest`` as it was.
    A git checkout is never replaced: it is the user's, with history fetch cannot re-create.
    """
    if is_checkout(dest):
        raise FetchError(f"{dest}: is a git checkout; fetch never replaces one (move it with git)")
    with atomic.staging_dir(dest.parent, f".{dest.name}-staging-") as staging:
        tree = staging / "tree"
        tree.mkdir()
        unpack(sdist, tree, progress, limits)
        check_commit(tree, pin.commit, pin.package, pin.version)
        record = {"package": pin.package, "version": pin.version, "sha256": pin.sha256}
        try:
            (tree / MARKER).write_text(json.dumps(record, indent=1) + "\n", "utf-8")
            atomic.swap_dir(tree, dest, staging / "old")
        except OSError as exc:
            raise FetchError(f"{dest}: cannot write the tree ({one_line(exc)}); nothing was changed") from None


def fetch_pin(
    pin: Pin, dest: Path, cache_dir: Path, index_url: str | None, progress: Progress,
    limits: Limits | None = None,
) -> bool:
    """Materialise the pinned release into ``dest`` (normally ``upstream/``).

    With the tree in place this reads one small marker file: no network, no hashing. A cached
    sdist whose hash matches is unpacked without asking the index; the hash is computed once.
    """
    if _holds(dest, pin.version, pin.sha256):
        return False
    limits = limits or Limits.from_env()
    cached = cache_dir / "sdists" / pin.sdist
    _partial(cached)
    if cached.is_file() and sha256_file(cached) == pin.sha256:
        sdist = cached
    else:
        release = resolve(pin.version, pin.package, index_url or configured_index_url(), limits)
        sdist = download(release, cache_dir, pin.sha256, progress, limits)
    _install(sdist, pin, dest, progress, limits)
    return True


def fetch_version(
    spec: str, package: str, cache_dir: Path, index_url: str | None, progress: Progress,
    limits: Limits | None = None,
) -> tuple[Release, Path]:
    """Materialise any other release into the cache (for rebase); returns it and its tree."""
    limits = limits or Limits.from_env()
    release = resolve(spec, package, index_url or configured_index_url(), limits)
    if not release.sha256:
        raise FetchError(f"{release.url}: the index gives no sha256 for this sdist; refusing it")
    dest = cache_dir / "trees" / f"{package}-{release.version}"
    materialise(release, release.sha256, None, dest, cache_dir, progress, limits)
    return release, dest
