"""Hostile servers and archives against fetch's limits (issue 14 items 5 and 8).

Each case runs a real HTTP server on the loopback in a thread (no network): an index page that
never ends, an sdist that never ends, a server dripping a byte at a time, a decompression bomb.
Every refusal must be one line, leave upstream/ byte-identical and leave no ``.part`` file.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from annotator import cli, fetch
from annotator.errors import FetchError, UnsafeArchiveError
from annotator.fetch import Limits
from annotator.pin import Pin

NOOP = lambda *a: None  # noqa: E731 - progress callback that ignores updates
Route = Callable[[http.server.BaseHTTPRequestHandler], None]
SMALL = Limits(index_bytes=1 << 20, download_bytes=1 << 20, deadline_s=1.5, read_timeout_s=5)


def _endless(handler: http.server.BaseHTTPRequestHandler, kind: str = "text/html") -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", kind)
    handler.end_headers()
    chunk = b"<a href='x'>" * 8192
    try:
        while True:
            handler.wfile.write(chunk)
    except OSError:
        pass  # the client hung up: what the cap is for


def _drip(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    try:
        for _ in range(1000):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def _slow_headers(handler: http.server.BaseHTTPRequestHandler) -> None:
    try:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 1000:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def _huge_length(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(10 << 30))
    handler.end_headers()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
        else:
            route(self)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], str]]:
    """Start a loopback server for some routes; yields a function returning its base URL."""
    servers = []

    def start(routes: dict[str, Route]) -> str:
        handler = type("H", (_Handler,), {"routes": routes})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _page(sha: str) -> Route:
    def send(handler: http.server.BaseHTTPRequestHandler) -> None:
        body = f'<a href="/files/vllm-0.22.1.tar.gz#sha256={sha}">vllm-0.22.1.tar.gz</a>'.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return send


def _pin(sha: str = "a" * 64) -> Pin:
    return Pin("vllm", "0.22.1", "abc1234", "vllm-0.22.1.tar.gz", sha)


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """upstream/ holding one file, to prove each refusal leaves it byte-identical."""
    (tmp_path / "proj" / "upstream").mkdir(parents=True)
    (tmp_path / "proj" / "upstream" / "keep.py").write_text("x = 1\n")
    return tmp_path / "proj" / "upstream"


def snapshot(tree: Path) -> dict[str, bytes]:
    """Every file's bytes under ``tree``, keyed by relative path."""
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


def _assert_clean(tmp_path: Path, upstream: Path, before: dict[str, bytes]) -> None:
    assert snapshot(upstream) == before
    assert not list(tmp_path.rglob("*.part")), "a partial download was left behind"
    assert not [p for p in upstream.parent.iterdir() if "staging" in p.name], "staging left behind"


def test_endless_index_page_is_capped(serve):
    """An index page that never ends is cut off at the index_bytes cap, one line, quickly."""
    base = serve({"/simple/vllm/": _endless})
    started = time.monotonic()
    with pytest.raises(FetchError, match="index_bytes cap") as err:
        fetch.resolve("0.22.1", "vllm", base + "/simple", SMALL)
    assert time.monotonic() - started < 5
    assert "\n" not in str(err.value) and "ANNOTATE_FETCH_INDEX_BYTES" in str(err.value)


@pytest.mark.parametrize(
    ("route", "match"),
    [(_endless, "download_bytes cap"), (_huge_length, "download_bytes cap"), (_drip, "deadline")],
    ids=["endless", "content-length", "drip"],
)
def test_hostile_download_refused_and_part_removed(serve, tmp_path, upstream, route, match):
    """Endless, oversized and dripping sdists are refused in one line; no .part, upstream/ intact."""
    base = serve({"/simple/vllm/": _page("a" * 64), "/files/vllm-0.22.1.tar.gz": route})
    before = snapshot(upstream)
    started = time.monotonic()
    with pytest.raises(FetchError, match=match) as err:
        fetch.fetch_pin(_pin(), upstream, tmp_path / "cache", base + "/simple", NOOP, SMALL)
    assert time.monotonic() - started < SMALL.deadline_s + 3
    assert "\n" not in str(err.value)
    _assert_clean(tmp_path, upstream, before)


def test_slow_headers_hit_the_deadline(serve):
    """A server that drips its status line and headers is still cut off at the overall deadline."""
    base = serve({"/simple/vllm/": _slow_headers})
    started = time.monotonic()
    with pytest.raises(FetchError, match="1.5 s deadline"):
        fetch.resolve("0.22.1", "vllm", base + "/simple", SMALL)
    assert time.monotonic() - started < SMALL.deadline_s + 3


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _zero_bomb(path: Path, gigabytes: int = 1) -> str:
    """A ~1 MB .tar.gz whose one member is ``gigabytes`` GiB of zeros (concatenated gzip members)."""
    piece = gzip.compress(bytes(16 << 20), 9)
    with open(path, "wb") as out:
        out.write(gzip.compress(_tar_header("vllm-0.22.1/zeros.bin", gigabytes << 30)))
        for _ in range(64 * gigabytes):
            out.write(piece)
        out.write(gzip.compress(bytes(1024)))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zip_bomb_refused_under_default_limits(tmp_path, upstream):
    """A 1 MB sdist holding 1 GB of zeros is refused by the ratio cap before it lands anywhere."""
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    sha = _zero_bomb(cache / "sdists" / "vllm-0.22.1.tar.gz")
    assert (cache / "sdists" / "vllm-0.22.1.tar.gz").stat().st_size < 2 << 20
    before = snapshot(upstream)
    started = time.monotonic()
    with pytest.raises(UnsafeArchiveError, match="decompression bomb") as err:
        fetch.fetch_pin(_pin(sha), upstream, cache, "http://127.0.0.1:9/none", NOOP, Limits())
    assert time.monotonic() - started < 10
    assert "\n" not in str(err.value) and "ANNOTATE_FETCH_RATIO" in str(err.value)
    _assert_clean(tmp_path, upstream, before)


def _many_files(path: Path, count: int, size: int = 10) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for i in range(count):
            info = tarfile.TarInfo(f"vllm-0.22.1/f{i}.txt")
            info.size = size
            tar.addfile(info, io.BytesIO(b"a" * size))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        (Limits(unpacked_bytes=64 << 10, ratio=1e6), "unpacked_bytes cap"),
        (Limits(members=10), "more than 10 members"),
    ],
    ids=["total-size", "members"],
)
def test_unpacked_size_and_member_caps(tmp_path, upstream, limits, match):
    """The total-size and member-count caps refuse an archive that passes the ratio check."""
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    sha = _many_files(cache / "sdists" / "vllm-0.22.1.tar.gz", 200, size=1000)
    before = snapshot(upstream)
    with pytest.raises(UnsafeArchiveError, match=match):
        fetch.fetch_pin(_pin(sha), upstream, cache, "http://127.0.0.1:9/none", NOOP, limits)
    _assert_clean(tmp_path, upstream, before)


def test_limits_read_from_environment(monkeypatch):
    """Every cap can be overridden by ANNOTATE_FETCH_<NAME>; a bad value is one line."""
    monkeypatch.setenv("ANNOTATE_FETCH_DEADLINE_S", "2.5")
    monkeypatch.setenv("ANNOTATE_FETCH_INDEX_BYTES", "1000")
    assert Limits.from_env() == Limits(deadline_s=2.5, index_bytes=1000)
    monkeypatch.setenv("ANNOTATE_FETCH_MEMBERS", "many")
    with pytest.raises(Exception, match="ANNOTATE_FETCH_MEMBERS='many'"):
        Limits.from_env()


def test_defaults_fit_a_vllm_sized_sdist():
    """The defaults leave room for the real sdist: 36 MB download, 91 MB unpacked, 5,312 files."""
    limits = Limits()
    assert limits.download_bytes > 10 * 36_246_058
    assert min(limits.unpacked_bytes, limits.ratio * 36_246_058) > 10 * 90_900_710
    assert limits.members > 10 * 5_312


PYPROJECT = '[tool.annotate]\nupstream_dir = "upstream"\npin_file = "UPSTREAM_PIN.toml"\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project whose pin names vllm 0.22.1 with a sha256 the test sets later."""
    root = tmp_path / "proj"
    (root / "upstream").mkdir(parents=True)
    (root / "upstream" / "keep.py").write_text("x = 1\n")
    (root / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(root)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    return root


def _set_pin(root: Path, sha: str) -> None:
    (root / "UPSTREAM_PIN.toml").write_text(_pin(sha).to_toml())


def _cache_sdist(tmp_path: Path, data: bytes) -> str:
    target = tmp_path / "cache" / "sdists" / "vllm-0.22.1.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _truncated() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("vllm-0.22.1/a.py")
        info.size = 100_000
        tar.addfile(info, io.BytesIO(bytes(range(256)) * 400))
    return buf.getvalue()[:-300]


@pytest.mark.parametrize(
    "data",
    [b"not a tarball at all" * 100, gzip.compress(b"garbage" * 1000), _truncated(), b""],
    ids=["garbage", "gzip-of-garbage", "truncated", "empty"],
)
def test_archive_library_errors_are_one_line(project, tmp_path, capsys, data):
    """Corrupt sdists give exactly one 'error:' line and exit 2 (tarfile's own text spans lines)."""
    _set_pin(project, _cache_sdist(tmp_path, data))
    before = snapshot(project / "upstream")
    assert cli.main(["fetch", "--index-url", "http://127.0.0.1:9/none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "cannot unpack" in err
    assert snapshot(project / "upstream") == before


def test_cli_endless_index_is_one_line_exit_2(project, tmp_path, serve, capsys, monkeypatch):
    """Through the CLI, an endless index page capped by ANNOTATE_FETCH_INDEX_BYTES is exit 2, one line."""
    _set_pin(project, "a" * 64)
    monkeypatch.setenv("ANNOTATE_FETCH_INDEX_BYTES", str(1 << 20))
    base = serve({"/simple/vllm/": _endless})
    before = snapshot(project / "upstream")
    assert cli.main(["fetch", "--index-url", base + "/simple"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "index_bytes cap" in err
    _assert_clean(tmp_path, project / "upstream", before)


def test_partial_file_left_by_a_kill_is_removed_next_run(tmp_path, upstream):
    """A .part left by kill -9 is removed by the next fetch, even one served from the cache."""
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    sha = _many_files(cache / "sdists" / "vllm-0.22.1.tar.gz", 3)
    stale = cache / "sdists" / ".vllm-0.22.1.tar.gz.part"
    stale.write_bytes(b"half a download")
    unpinned_commit = Pin("vllm", "0.22.1", "", "vllm-0.22.1.tar.gz", sha)
    assert fetch.fetch_pin(unpinned_commit, upstream, cache, "http://127.0.0.1:9/none", NOOP, Limits())
    assert not stale.exists() and (upstream / "f2.txt").exists()


def test_sparse_member_is_refused(tmp_path, upstream):
    """A GNU sparse member (a few header bytes that expand to any size) refuses the archive."""
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    path = cache / "sdists" / "vllm-0.22.1.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("vllm-0.22.1/holes.bin")
        info.type = tarfile.GNUTYPE_SPARSE
        tar.addfile(info)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    before = snapshot(upstream)
    with pytest.raises(UnsafeArchiveError, match="holes.bin"):
        fetch.fetch_pin(_pin(sha), upstream, cache, "http://127.0.0.1:9/none", NOOP, Limits())
    _assert_clean(tmp_path, upstream, before)
