"""Which releases a rebase steps through, and their trees: listed by the index, materialised in the cache.

``--via all`` takes every final release after the pin up to the target, ``minor`` the newest of
each minor series, ``none`` the target alone (the direct rebase).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from annotator.rebase.chain import Tree

VIA = ("all", "minor", "none")


def pick_releases(versions: Sequence[str], pinned: str, target: str, via: str) -> list[str]:
    """The final releases after ``pinned`` up to ``target`` (inclusive), in order.

    ``via="minor"`` keeps the newest release of each minor series, ``"none"`` only the target.
    """
    from packaging.version import InvalidVersion, Version

    lo, hi = Version(pinned), Version(target)
    chosen = []
    for v in versions:
        try:
            parsed = Version(v)
        except InvalidVersion:
            continue
        if lo < parsed <= hi and (not parsed.is_prerelease or parsed == hi):
            chosen.append((parsed, v))
    chosen.sort()
    if via == "none":
        return [target]
    if via == "minor":
        newest = {}
        for parsed, v in chosen:
            newest[(parsed.major, parsed.minor)] = (parsed, v)
        chosen = sorted(newest.values())
    names = [v for _, v in chosen]
    return names if names and names[-1] == target else [*names, target]


def release_chain(
    package: str, pinned: Tree, spec: str, via: str, cache_dir: Path, index_url: str | None,
    progress: Callable[[str, int, int | None], None],
):
    """The pinned tree, then every release the index lists up to ``spec``, each materialised;
    returns those trees and the target's :class:`annotator.fetch.Release`.

    Each tree lands in the cache (``trees/<package>-<version>``), checked against the sha256 the
    index gives; an already materialised one costs one marker read.
    """
    from annotator import fetch
    from annotator.errors import FetchError
    from annotator.fetch.net import Limits

    if via not in VIA:
        raise FetchError(f"--via {via!r}: expected one of {', '.join(VIA)}")
    limits = Limits.from_env()
    listed = {r.version: r for r in fetch.list_sdists(package, index_url or fetch.configured_index_url(), limits)}
    target = _target_version(spec, list(listed), package)
    trees = [pinned]
    if target == pinned.version:
        return trees, listed[target]
    for version in pick_releases(list(listed), pinned.version, target, via):
        release = listed[version]
        if not release.sha256:
            raise FetchError(f"{release.url}: the index gives no sha256 for this sdist; refusing it")
        trees.append(Tree(version, release.sha256, cache_dir / "trees" / f"{package}-{version}"))

    def materialise(tree: Tree) -> None:
        release = listed[tree.version]
        fetch.materialise(release, release.sha256, None, tree.root, cache_dir, progress, limits)

    # unpacking is mostly zlib and file writes, which release the GIL: two at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(materialise, trees[1:]))
    return trees, listed[target]


def _target_version(spec: str, versions: Sequence[str], package: str) -> str:
    """``0.34.0`` → itself; ``v0.34`` → the newest final ``0.34.*`` the index lists."""
    from packaging.version import InvalidVersion, Version

    from annotator.errors import FetchError

    wanted = spec.removeprefix("v")
    if wanted in versions:
        return wanted
    best = None
    for v in versions:
        try:
            parsed = Version(v)
        except InvalidVersion:
            continue
        if not parsed.is_prerelease and v.startswith(wanted + ".") and (best is None or parsed > best[0]):
            best = (parsed, v)
    if best is None:
        raise FetchError(f"the package index lists no sdist of {package} matching {spec!r}")
    return best[1]
