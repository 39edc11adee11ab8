"""Any PyPI package as upstream (issue 13 item 5): fetch, index, verify and rebase a tiny package.

The test builds sdists of ``tiny-widgets`` (PEP 625 file names, ``tiny_widgets-1.0.0.tar.gz``; no
commit id recorded, as most packages) and serves them from a loopback simple index that speaks
PEP 691 JSON to clients asking for it and PEP 503 HTML otherwise.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotator import cli, fetch, pin
from annotator.errors import ConfigError, FetchError
from annotator.fetch import Limits

NOOP = lambda *a: None  # noqa: E731 - progress callback that ignores updates
CORE_100 = '"""Widgets."""\n\n\nclass Widget:\n    """A widget."""\n\n    def spin(self):\n        return 1\n'
CORE_110 = "import os\n\n\ndef helper():\n    return os.sep\n\n" + CORE_100  # every line moves down by 6
DOC = "# Notes\n\nThe spin lives at `tiny_widgets/core.py:7 — Widget.spin`.\n"


def make_sdist(files: Path, version: str, core: str, name: str = "tiny-widgets", extra: dict | None = None) -> str:
    """One sdist into ``files``; returns its sha256."""
    top = f"tiny_widgets-{version}"
    members = {
        f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{top}/tiny_widgets/__init__.py": "",
        f"{top}/tiny_widgets/core.py": core,
        **{f"{top}/{k}": v for k, v in (extra or {}).items()},
    }
    src = files / "src"
    for member, text in members.items():
        (src / member).parent.mkdir(parents=True, exist_ok=True)
        (src / member).write_text(text)
    path = files / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src / top, arcname=top)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Index:
    """The served index: its URL, each version's sha256, and the Accept header of each request."""

    url: str
    shas: dict[str, str]
    accepts: list[str]
    files: Path


def _handler(index: Index, speaks_json: bool) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/simple/tiny-widgets/":
                index.accepts.append(self.headers.get("Accept", ""))
                self._page("application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", ""))
            elif (index.files / self.path.removeprefix("/files/")).is_file():
                self._send((index.files / self.path.removeprefix("/files/")).read_bytes(), "application/x-tar")
            else:
                self.send_error(404)

        def _page(self, wants_json: bool) -> None:
            names = {v: f"tiny_widgets-{v}.tar.gz" for v in index.shas}
            if wants_json and speaks_json:
                files = [{"filename": n, "url": f"/files/{n}", "hashes": {"sha256": index.shas[v]}} for v, n in names.items()]
                body = json.dumps({"meta": {"api-version": "1.0"}, "name": "tiny-widgets", "files": files})
                self._send(body.encode(), "application/vnd.pypi.simple.v1+json")
            else:
                links = "".join(f'<a href="/files/{n}#sha256={index.shas[v]}">{n}</a>' for v, n in names.items())
                self._send(links.encode(), "text/html")

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(params=["json", "html"])
def index(request, tmp_path: Path) -> Iterator[Index]:
    """tiny-widgets 1.0.0 and 1.1.0 on a loopback index speaking PEP 691 (or only PEP 503)."""
    files = tmp_path / "files"
    files.mkdir()
    shas = {"1.0.0": make_sdist(files, "1.0.0", CORE_100), "1.1.0": make_sdist(files, "1.1.0", CORE_110)}
    found = Index("", shas, [], files)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(found, request.param == "json"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/simple"
    yield found
    server.shutdown()
    server.server_close()


def _repo(root: Path, index: Index, monkeypatch, pinned: bool = True, style: str = "pyproject") -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text(DOC)
    if pinned:
        the_pin = pin.Pin("tiny-widgets", "1.0.0", "", "tiny_widgets-1.0.0.tar.gz", index.shas["1.0.0"])
        if style == "pyproject":
            (root / "pyproject.toml").write_text('[tool.annotate]\ndocs = ["docs/*.md"]\n')
            pin.write(root / "UPSTREAM_PIN.toml", the_pin)
        else:  # annotate.toml holding its pin in a [pin] table
            body = the_pin.to_toml().split("\n", 2)[2]
            (root / "annotate.toml").write_text(f'# mine\ndocs = ["docs/*.md"]\n\n[pin]\n{body}')
    monkeypatch.chdir(root)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(root.parent / "cache"))
    monkeypatch.setenv("ANNOTATE_INDEX_URL", index.url)
    return root


@pytest.mark.parametrize("style", ["pyproject", "annotate.toml"])
def test_fetch_index_verify_rebase_any_package(tmp_path, index, monkeypatch, capsys, style):
    """A pin naming tiny-widgets materialises it; index and verify run on it; rebase moves anchor and pin."""
    root = _repo(tmp_path / "course", index, monkeypatch, style=style)
    pin_file = root / ("UPSTREAM_PIN.toml" if style == "pyproject" else "annotate.toml")
    assert cli.main(["fetch"]) == 0
    assert "fetched tiny-widgets 1.0.0 in upstream/" in capsys.readouterr().out
    assert (root / "upstream/tiny_widgets/core.py").read_text() == CORE_100
    assert index.accepts and "application/vnd.pypi.simple.v1+json" in index.accepts[0]
    assert cli.main(["index", "--stats"]) == 0
    stats = capsys.readouterr().out
    assert re.search(r"^files\s+2$", stats, re.M) and re.search(r"^symbols\s+2$", stats, re.M), stats
    assert cli.main(["verify"]) == 0
    (root / "docs" / "broken.md").write_text("`tiny_widgets/core.py:99 — Widget.spin`\n")
    assert cli.main(["verify"]) == 1
    (root / "docs" / "broken.md").unlink()
    capsys.readouterr()
    assert cli.main(["rebase", "--to", "1.1.0"]) in (0, 1)
    assert "`tiny_widgets/core.py:13 — Widget.spin`" in (root / "docs" / "notes.md").read_text()
    moved = pin.read(pin_file)
    assert (moved.version, moved.commit, moved.sdist) == ("1.1.0", "", "tiny_widgets-1.1.0.tar.gz")
    assert (root / "upstream/tiny_widgets/core.py").read_text() == CORE_110
    assert cli.main(["verify"]) == 0
    if style == "annotate.toml":
        assert pin_file.read_text().startswith('# mine\ndocs = ["docs/*.md"]\n\n[pin]\n')


def test_fetch_without_a_pin_materialises_a_named_package(tmp_path, index, monkeypatch, capsys):
    """Zero-config: `fetch --version V --package NAME` fills upstream/, a second run does nothing."""
    root = _repo(tmp_path / "course", index, monkeypatch, pinned=False)
    assert cli.main(["fetch", "--version", "1.1", "--package", "tiny-widgets"]) == 0
    assert "fetched tiny-widgets 1.1.0 in upstream/" in capsys.readouterr().out
    assert (root / "upstream/tiny_widgets/core.py").read_text() == CORE_110
    assert cli.main(["fetch", "--version", "1.1.0", "--package", "tiny-widgets"]) == 0
    assert "already in place: tiny-widgets 1.1.0" in capsys.readouterr().out


def test_git_checkout_is_never_replaced(tmp_path, index, monkeypatch, capsys):
    """An upstream/ that is a git checkout is reported, not swapped for the sdist."""
    root = _repo(tmp_path / "course", index, monkeypatch, pinned=False)
    (root / "upstream").mkdir()
    (root / "upstream" / "mine.py").write_text("x = 1\n")
    subprocess.run(["git", "init", "-q", str(root / "upstream")], check=True)
    assert cli.main(["fetch", "--version", "1.0.0", "--package", "tiny-widgets"]) == 0
    assert "git checkout" in capsys.readouterr().out
    assert (root / "upstream" / "mine.py").exists() and not (root / "upstream" / "tiny_widgets").exists()
    with pytest.raises(FetchError, match="git checkout"):
        release = fetch.resolve("1.0.0", "tiny-widgets", index.url)
        fetch.materialise(release, release.sha256, None, root / "upstream", tmp_path / "c", NOOP)


def _pin(sha: str, commit: str = "", version: str = "1.0.0") -> pin.Pin:
    return pin.Pin("tiny-widgets", version, commit, "tiny_widgets-1.0.0.tar.gz", sha)


@pytest.mark.parametrize(
    ("recorded", "pinned", "version", "error"),
    [
        ("gabc1234", "abc1234", "1.0.0", None),
        ("gabc1234", "", "1.0.0", None),
        ("gabc1234", "fff0000", "1.0.0", "commit abc1234 does not match the pin's fff0000"),
        (None, "abc1234", "1.0.0", "records no commit id"),
        (None, "", "1.0.1", "version 1.0.0 does not match the pin's 1.0.1"),
    ],
    ids=["commit-ok", "no-pinned-commit", "commit-mismatch", "no-recorded-commit", "version-mismatch"],
)
def test_commit_else_version_check(tmp_path, recorded, pinned, version, error):
    """<pkg>/_version.py's commit is checked when the pin names one; else PKG-INFO's version."""
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    extra = {"tiny_widgets/_version.py": f"commit_id = '{recorded}'\n"} if recorded else None
    sha = make_sdist(cache / "sdists", "1.0.0", CORE_100, extra=extra)
    dest = tmp_path / "upstream"
    run = lambda: fetch.fetch_pin(_pin(sha, pinned, version), dest, cache, "http://127.0.0.1:9/x", NOOP, Limits())  # noqa: E731
    if error is None:
        assert run() and (dest / "tiny_widgets/core.py").exists()
    else:
        with pytest.raises(FetchError, match=error) as err:
            run()
        assert "\n" not in str(err.value) and not dest.exists()


def test_pin_without_commit_reads_and_renders(tmp_path):
    """A pin may leave commit empty; its page tells how to check PKG-INFO instead of _version.py."""
    path = tmp_path / "UPSTREAM_PIN.toml"
    pin.write(path, _pin("a" * 64))
    assert pin.read(path).commit == ""
    page = pin.render_page(pin.read(path))
    assert "Version:' upstream/PKG-INFO" in page and "_version.py" not in page
    assert "tiny_widgets/_version.py" in pin.render_page(_pin("a" * 64, "abc1234"))
    path.write_text(_pin("a" * 64, "not-hex").to_toml())
    with pytest.raises(ConfigError, match="commit must be a hex"):
        pin.read(path)


def test_sdist_names_match_in_any_spelling(tmp_path, index):
    """`Tiny_Widgets` and `tiny.widgets` find the files PEP 625 names `tiny_widgets-*.tar.gz`."""
    for spelling in ("tiny-widgets", "Tiny_Widgets", "tiny.widgets"):
        assert sorted(r.version for r in fetch.list_sdists(spelling, index.url, Limits())) == ["1.0.0", "1.1.0"]
