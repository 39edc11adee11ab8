"""Materialise an upstream release from its sdist: resolve, download, check, unpack, swap.

Nothing is trusted until it is checked: the sha256 (from the pin, or the index's ``#sha256=``
fragment), the commit id recorded in ``vllm/_version.py``, and every archive member's path and
type. The destination changes only by a final rename, so any failure leaves it as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from annotator import atomic
from annotator.errors import FetchError, UnsafeArchiveError
from annotator.pin import Pin

MARKER = ".annotate-fetch.json"
Progress = Callable[[str, int, int | None], None]  # (phase, done, total)


@dataclass(frozen=True)
class Release:
    """One sdist on the index: where it is and the hash to expect (None if the index gives none)."""

    package: str
    version: str
    filename: str
    url: str
    sha256: str | None


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


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def list_sdists(package: str, index_url: str) -> list[Release]:
    """Every sdist of ``package`` on a PEP 503 simple index (http(s) or file://)."""
    page_url = index_url.rstrip("/") + f"/{package}/"
    html = _read_url(page_url).decode("utf-8", "replace")
    parser = _Links()
    parser.feed(html)
    pattern = re.compile(rf"^{re.escape(package)}-(.+)\.tar\.gz$", re.I)
    releases = []
    for href in parser.hrefs:
        url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        filename = urllib.parse.unquote(PurePosixPath(urllib.parse.urlparse(url).path).name)
        match = pattern.match(filename)
        if match:
            sha = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
            releases.append(Release(package, match.group(1), filename, url, sha))
    return releases


def resolve(spec: str, package: str, index_url: str) -> Release:
    """``0.22.1`` → that release; ``v0.23`` → the newest final ``0.23.*`` (prereleases ignored)."""
    from packaging.version import InvalidVersion, Version

    wanted = spec.removeprefix("v")
    candidates = []
    for rel in list_sdists(package, index_url):
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


def _read_url(url: str) -> bytes:
    if url.startswith("file:") and url.endswith("/"):
        url += "index.html"  # a file:// index serves each project page as a directory
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: cannot reach the package index ({reason})") from None


def download(release: Release, cache_dir: Path, expected_sha: str, progress: Progress) -> Path:
    """Download the sdist into the cache (reusing a cached copy whose hash matches)."""
    target = cache_dir / "sdists" / release.filename
    if target.is_file() and sha256_file(target) == expected_sha:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        digest = hashlib.sha256()
        with urllib.request.urlopen(release.url, timeout=60) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress("download", done, total)
        if digest.hexdigest() != expected_sha:
            tmp.unlink(missing_ok=True)
            raise FetchError(
                f"{release.url}: sha256 mismatch (got {digest.hexdigest()}, expected {expected_sha}); "
                "nothing was changed"
            )
        os.replace(tmp, target)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{release.url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{release.url}: download failed ({getattr(exc, 'reason', exc)})") from None
    return target


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _checked_members(archive: tarfile.TarFile, name: str) -> list[tuple[tarfile.TarInfo, str]]:
    """Refuse the whole archive if any member is a link, device or escapes; strip the top folder."""
    members = []
    for member in archive.getmembers():
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"{name}: member {member.name!r} is a link or device; refused")
        parts = PurePosixPath(member.name).parts
        if member.name.startswith("/") or ".." in parts or "\\" in member.name:
            raise UnsafeArchiveError(f"{name}: member {member.name!r} escapes the target; refused")
        inner = "/".join(parts[1:])
        if inner:
            members.append((member, inner))
    return members


def unpack(sdist: Path, dest: Path, progress: Progress) -> None:
    """Unpack ``sdist`` into the empty directory ``dest``, without its top-level folder."""
    try:
        with tarfile.open(sdist, "r:*") as archive:
            members = _checked_members(archive, sdist.name)
            for i, (member, inner) in enumerate(members, 1):
                target = dest / inner
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = archive.extractfile(member)
                    assert src is not None  # isfile() members always have data
                    with src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                if i % 500 == 0 or i == len(members):
                    progress("unpack", i, len(members))
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise FetchError(f"{sdist}: cannot unpack ({exc}); nothing was changed") from None


def check_commit(tree: Path, commit: str) -> None:
    """The sdist records the commit it was cut from; it must be the one the pin names."""
    version_file = tree / "vllm" / "_version.py"
    try:
        text = version_file.read_text("utf-8")
    except OSError:
        raise FetchError(f"{version_file.name}: missing from the sdist; cannot check the commit")
    match = re.search(r"commit_id\s*=\s*['\"]g?([0-9a-f]+)['\"]", text)
    if not match or not (match.group(1).startswith(commit) or commit.startswith(match.group(1))):
        found = match.group(1) if match else "none"
        raise FetchError(f"vllm/_version.py: commit {found} does not match the pin's {commit}")


def read_marker(tree: Path) -> dict[str, str] | None:
    try:
        return json.loads((tree / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _holds(tree: Path, version: str, sha: str) -> bool:
    """Whether ``tree`` was materialised from exactly this sdist (its marker says so)."""
    marker = read_marker(tree)
    return bool(marker) and marker.get("sha256") == sha and marker.get("version") == version


def materialise(
    release: Release, sha: str, commit: str | None, dest: Path, cache_dir: Path, progress: Progress
) -> bool:
    """Make ``dest`` hold ``release``; False (and no work) when it already does."""
    if _holds(dest, release.version, sha):
        return False
    sdist = download(release, cache_dir, sha, progress)
    _install(sdist, release.package, release.version, sha, commit, dest, progress)
    return True


def _install(
    sdist: Path, package: str, version: str, sha: str, commit: str | None, dest: Path, progress: Progress
) -> None:
    """Unpack a verified sdist and swap it in as ``dest``.

    The tree is built in a sibling staging directory and swapped in by two renames; the old tree
    is deleted only after the new one is in place, so a failure at any step leaves ``dest`` as it was.
    """
    with atomic.staging_dir(dest.parent, f".{dest.name}-staging-") as staging:
        tree = staging / "tree"
        tree.mkdir()
        unpack(sdist, tree, progress)
        if commit:
            check_commit(tree, commit)
        record = {"package": package, "version": version, "sha256": sha}
        try:
            (tree / MARKER).write_text(json.dumps(record, indent=1) + "\n", "utf-8")
            atomic.swap_dir(tree, dest, staging / "old")
        except OSError as exc:
            raise FetchError(f"{dest}: cannot write the tree ({exc}); nothing was changed") from None


def fetch_pin(pin: Pin, dest: Path, cache_dir: Path, index_url: str | None, progress: Progress) -> bool:
    """Materialise the pinned release into ``dest`` (normally ``upstream/``).

    With the tree in place this reads one small marker file: no network, no hashing. A cached
    sdist whose hash matches is unpacked without asking the index; the hash is computed once.
    """
    if _holds(dest, pin.version, pin.sha256):
        return False
    cached = cache_dir / "sdists" / pin.sdist
    if cached.is_file() and sha256_file(cached) == pin.sha256:
        sdist = cached
    else:
        release = resolve(pin.version, pin.package, index_url or configured_index_url())
        sdist = download(release, cache_dir, pin.sha256, progress)
    _install(sdist, pin.package, pin.version, pin.sha256, pin.commit, dest, progress)
    return True


def fetch_version(
    spec: str, package: str, cache_dir: Path, index_url: str | None, progress: Progress
) -> tuple[Release, Path]:
    """Materialise any other release into the cache (for rebase); returns it and its tree."""
    release = resolve(spec, package, index_url or configured_index_url())
    if not release.sha256:
        raise FetchError(f"{release.url}: the index gives no sha256 for this sdist; refusing it")
    dest = cache_dir / "trees" / f"{package}-{release.version}"
    materialise(release, release.sha256, None, dest, cache_dir, progress)
    return release, dest
