"""Tests for annotator.fetch: resolution, hash and commit checks, safe unpack, atomic swap."""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from annotator import fetch
from annotator.fetch import archive
from annotator.errors import FetchError, UnsafeArchiveError
from annotator.pin import Pin

NOOP = lambda *a: None  # noqa: E731 - progress callback that ignores updates


def make_sdist(path: Path, version: str, commit: str = "abc1234", extra=None) -> str:
    """Write a tiny vllm-like sdist; ``extra`` may add hostile members. Returns its sha256."""
    top = f"vllm-{version}"
    files = {
        f"{top}/vllm/_version.py": f"__version__ = '{version}'\ncommit_id = 'g{commit}'\n",
        f"{top}/vllm/v1/core/block_pool.py": "class BlockPool:\n    def get_new_blocks(self):\n        pass\n",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra:
            extra(tar)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_index(tmp: Path, versions: list[str], **kw) -> tuple[str, dict[str, str]]:
    """A PEP 503 file:// index holding sdists of ``versions``; returns (index_url, shas)."""
    files = tmp / "files"
    files.mkdir(parents=True, exist_ok=True)
    shas, links = {}, []
    for v in versions:
        sha = make_sdist(files / f"vllm-{v}.tar.gz", v, **kw)
        shas[v] = sha
        links.append(f'<a href="../../files/vllm-{v}.tar.gz#sha256={sha}">vllm-{v}.tar.gz</a>')
    page = tmp / "simple" / "vllm"
    page.mkdir(parents=True, exist_ok=True)
    (page / "index.html").write_text("<html><body>" + "\n".join(links) + "</body></html>")
    return (tmp / "simple").as_uri(), shas


def snapshot(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """An upstream/ that already holds something, to prove failures never touch it."""
    up = tmp_path / "proj" / "upstream"
    up.mkdir(parents=True)
    (up / "keep.py").write_text("x = 1\n")
    return up


def pin_for(version: str, sha: str, commit: str = "abc1234") -> Pin:
    return Pin("vllm", version, commit, f"vllm-{version}.tar.gz", sha)


def test_happy_path_materialises_tree(tmp_path, existing):
    """A matching sdist replaces upstream/ with its contents, top folder stripped."""
    url, shas = make_index(tmp_path / "idx", ["0.22.1"])
    changed = fetch.fetch_pin(pin_for("0.22.1", shas["0.22.1"]), existing, tmp_path / "c", url, NOOP)
    assert changed
    assert (existing / "vllm/v1/core/block_pool.py").read_text().startswith("class BlockPool")
    assert not (existing / "keep.py").exists()
    assert fetch.read_marker(existing)["version"] == "0.22.1"
    assert not [p for p in existing.parent.iterdir() if "staging" in p.name]


def test_second_run_does_nothing_without_network(tmp_path, existing):
    """With the tree in place, a second fetch returns False and never contacts the index."""
    url, shas = make_index(tmp_path / "idx", ["0.22.1"])
    pin = pin_for("0.22.1", shas["0.22.1"])
    fetch.fetch_pin(pin, existing, tmp_path / "c", url, NOOP)
    before = snapshot(existing)
    assert fetch.fetch_pin(pin, existing, tmp_path / "c", "http://127.0.0.1:9/none", NOOP) is False
    assert snapshot(existing) == before


def test_cached_sdist_needs_no_index(tmp_path, existing):
    """A verified sdist in the cache is reused even when the index is unreachable."""
    url, shas = make_index(tmp_path / "idx", ["0.22.1"])
    pin = pin_for("0.22.1", shas["0.22.1"])
    fetch.fetch_pin(pin, existing, tmp_path / "c", url, NOOP)
    shutil.rmtree(existing)
    assert fetch.fetch_pin(pin, existing, tmp_path / "c", "http://127.0.0.1:9/none", NOOP)
    assert (existing / "vllm/_version.py").exists()


def test_hash_mismatch_leaves_upstream_byte_identical(tmp_path, existing):
    """A wrong sha256 is refused and upstream/ is left exactly as it was."""
    url, _ = make_index(tmp_path / "idx", ["0.22.1"])
    before = snapshot(existing)
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch.fetch_pin(pin_for("0.22.1", "0" * 64), existing, tmp_path / "c", url, NOOP)
    assert snapshot(existing) == before


def test_commit_mismatch_is_refused(tmp_path, existing):
    """An sdist cut from another commit than the pin names is refused."""
    url, shas = make_index(tmp_path / "idx", ["0.22.1"], commit="fff0000")
    before = snapshot(existing)
    with pytest.raises(FetchError, match="does not match the pin"):
        fetch.fetch_pin(pin_for("0.22.1", shas["0.22.1"]), existing, tmp_path / "c", url, NOOP)
    assert snapshot(existing) == before


def _dotdot(tar: tarfile.TarFile) -> None:
    info = tarfile.TarInfo("vllm-0.22.1/../../evil.txt")
    info.size = 4
    tar.addfile(info, io.BytesIO(b"evil"))


def _symlink(tar: tarfile.TarFile) -> None:
    info = tarfile.TarInfo("vllm-0.22.1/vllm/link")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    tar.addfile(info)


@pytest.mark.parametrize("hostile", [_dotdot, _symlink], ids=["dotdot", "symlink"])
def test_malicious_archive_refused(tmp_path, existing, hostile):
    """Members escaping the target or being links refuse the whole archive; nothing lands."""
    url, shas = make_index(tmp_path / "idx", ["0.22.1"], extra=hostile)
    before = snapshot(existing)
    with pytest.raises(UnsafeArchiveError, match="refused"):
        fetch.fetch_pin(pin_for("0.22.1", shas["0.22.1"]), existing, tmp_path / "c", url, NOOP)
    assert snapshot(existing) == before
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "proj" / "evil.txt").exists()


def test_corrupt_archive_is_an_error(tmp_path, existing):
    """Bytes that hash right but are not a tarball give a FetchError, not a traceback."""
    bad = tmp_path / "files" / "vllm-0.22.1.tar.gz"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a tarball at all" * 100)
    sha = hashlib.sha256(bad.read_bytes()).hexdigest()
    cache = tmp_path / "c"
    (cache / "sdists").mkdir(parents=True)
    shutil.copy(bad, cache / "sdists" / bad.name)
    before = snapshot(existing)
    with pytest.raises(FetchError, match="cannot unpack"):
        fetch.fetch_pin(pin_for("0.22.1", sha), existing, cache, "http://127.0.0.1:9/x", NOOP)
    assert snapshot(existing) == before


def test_full_disk_leaves_upstream_untouched(tmp_path, existing, monkeypatch):
    """ENOSPC while unpacking is a one-line FetchError and upstream/ stays as it was."""
    url, shas = make_index(tmp_path / "idx", ["0.22.1"])

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive.shutil, "copyfileobj", no_space)
    before = snapshot(existing)
    with pytest.raises(FetchError, match="No space left"):
        fetch.fetch_pin(pin_for("0.22.1", shas["0.22.1"]), existing, tmp_path / "c", url, NOOP)
    assert snapshot(existing) == before


def test_version_resolution_takes_newest_final_minor(tmp_path):
    """``v0.23`` resolves to the newest final 0.23.* release; prereleases are ignored."""
    url, _ = make_index(tmp_path, ["0.22.1", "0.23.0", "0.23.2", "0.23.10rc1", "0.24.0"])
    assert fetch.resolve("v0.23", "vllm", url).version == "0.23.2"
    assert fetch.resolve("0.23.0", "vllm", url).version == "0.23.0"
    with pytest.raises(FetchError, match="no sdist"):
        fetch.resolve("v0.25", "vllm", url)


def test_fetch_version_goes_to_cache_not_upstream(tmp_path, existing):
    """Any release other than the pin is materialised in the cache, using the index's hash."""
    url, _ = make_index(tmp_path / "idx", ["0.23.0", "0.23.1"])
    before = snapshot(existing)
    release, tree = fetch.fetch_version("v0.23", "vllm", tmp_path / "c", url, NOOP)
    assert release.version == "0.23.1" and tree.is_relative_to(tmp_path / "c")
    assert (tree / "vllm/_version.py").exists()
    assert snapshot(existing) == before


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_error(404)

    def log_message(self, *args):
        pass


def test_http_404_and_no_network_are_one_line_errors(tmp_path):
    """A 404 from a loopback index and an unreachable index both give FetchError with the URL."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/simple"
        with pytest.raises(FetchError, match="HTTP 404"):
            fetch.resolve("0.22.1", "vllm", url)
    finally:
        server.shutdown()
    with pytest.raises(FetchError, match="cannot reach"):
        fetch.resolve("0.22.1", "vllm", "http://127.0.0.1:9/simple")


@pytest.mark.upstream
def test_real_pinned_tree(upstream_tree: Path):
    """The real pinned sdist unpacks to a tree whose block_pool.py line 333 defines get_new_blocks."""
    lines = (upstream_tree / "vllm/v1/core/block_pool.py").read_text().splitlines()
    assert lines[332].strip().startswith("def get_new_blocks")
    fetch.check_commit(upstream_tree, "0decac0d9")
