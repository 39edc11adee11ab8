"""Read a project's page on a simple package index (PEP 503 HTML or PEP 691 JSON) into releases.

Any project works: names compare in PEP 503's normalised form, and sdist file names may spell
the project with ``-``, ``_`` or ``.`` (PEP 625 writes ``_``), so ``sglang``, ``flash-attn`` and
``Flash_Attn`` all find their files.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath

from annotator.errors import FetchError
from annotator.fetch.net import Limits, one_line, open_url

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, text/html;q=0.1"


@dataclass(frozen=True)
class Release:
    """One sdist on the index: where it is and the hash to expect (None if the index gives none)."""

    package: str
    version: str
    filename: str
    url: str
    sha256: str | None


def normalise(name: str) -> str:
    """PEP 503's normalised project name: the form index URLs use."""
    return re.sub(r"[-_.]+", "-", name).lower()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def _files_from_html(body: bytes, page_url: str) -> list[tuple[str, str | None]]:
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    files = []
    for href in parser.hrefs:
        url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        files.append((url, fragment[len("sha256="):] if fragment.startswith("sha256=") else None))
    return files


def _files_from_json(body: bytes, page_url: str) -> list[tuple[str, str | None]]:
    try:
        data = json.loads(body)
        entries = data["files"]
        return [
            (urllib.parse.urljoin(page_url, f["url"]), (f.get("hashes") or {}).get("sha256"))
            for f in entries
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FetchError(f"{page_url}: not a PEP 691 project page ({one_line(exc)})") from None


def _page_url(package: str, index_url: str) -> str:
    url = index_url.rstrip("/") + f"/{normalise(package)}/"
    if url.startswith("file:"):
        url += "index.html"  # a file:// index serves each project page as a directory
    return url


def list_sdists(package: str, index_url: str, limits: Limits) -> list[Release]:
    """Every sdist (``.tar.gz``) of ``package`` on a simple index (http(s) or file://)."""
    page_url = _page_url(package, index_url)
    with open_url(page_url, limits, "index_bytes", "cannot reach the package index", ACCEPT) as page:
        body = page.read_all()
        kind = page.headers.get("Content-Type", "")
    parse = _files_from_json if kind.split(";")[0].strip() == JSON_TYPE else _files_from_html
    spelled = "[-_.]+".join(re.escape(part) for part in re.split(r"[-_.]+", package))
    pattern = re.compile(rf"^{spelled}-(.+)\.tar\.gz$", re.I)
    releases = []
    for url, sha in parse(body, page_url):
        filename = urllib.parse.unquote(PurePosixPath(urllib.parse.urlparse(url).path).name)
        match = pattern.match(filename)
        if match:
            releases.append(Release(package, match.group(1), filename, url, sha))
    return releases
