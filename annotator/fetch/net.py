"""Bounded reads from a package index: a size cap on every body and one deadline per request.

A socket timeout only bounds each read, so a server that drips a byte every few seconds could
hold a fetch forever; a watchdog timer shuts the connection's socket when the deadline passes,
which wakes any read blocked on it. Every failure becomes a one-line FetchError.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

from annotator.errors import ConfigError, FetchError

ENV_PREFIX = "ANNOTATE_FETCH_"
CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """Caps on what one fetch may read and write.

    The defaults fit the real vLLM 0.22.1 sdist many times over (index page 97 kB, sdist 36 MB,
    91 MB unpacked in 5,312 files, ratio 2.5) while refusing a bomb long before it fills a disk.
    Each can be overridden by ``ANNOTATE_FETCH_<NAME>`` (e.g. ``ANNOTATE_FETCH_DEADLINE_S=60``).
    """

    index_bytes: int = 32 << 20  # one simple-index page
    download_bytes: int = 2 << 30  # one sdist
    unpacked_bytes: int = 8 << 30  # everything an sdist unpacks to
    ratio: float = 100.0  # unpacked bytes per compressed byte
    ratio_floor_bytes: int = 4 << 20  # tiny archives may exceed the ratio up to this size
    members: int = 200_000  # files and folders in one sdist
    deadline_s: float = 1800.0  # one request, connect to last byte
    read_timeout_s: float = 60.0  # one socket read

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Limits:
        """The defaults with any ``ANNOTATE_FETCH_*`` overrides; a bad value is a ConfigError."""
        environ = os.environ if environ is None else environ
        values: dict[str, int | float] = {}
        for field in fields(cls):
            name = env_name(field.name)
            raw = environ.get(name)
            if not raw:
                continue
            try:
                values[field.name] = type(field.default)(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r}: not a {type(field.default).__name__}") from None
            if values[field.name] <= 0:
                raise ConfigError(f"{name}={raw!r}: must be positive")
        return cls(**values)


def env_name(limit: str) -> str:
    """The environment variable that overrides ``limit`` (named in every refusal message)."""
    return ENV_PREFIX + limit.upper()


def one_line(exc: BaseException | str) -> str:
    """An exception's text on one line: libraries (tarfile, ssl) put newlines in theirs."""
    return " ".join(str(exc).split()) or type(exc).__name__


class _Watchdog:
    """Shuts every socket it was given once ``seconds`` pass, so no blocked read outlives them."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to wake


def _opener(dog: _Watchdog) -> urllib.request.OpenerDirector:
    """urllib's usual opener (proxies, file://), with each new connection handed to ``dog``."""

    def watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Watched(base):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                dog.add(self.sock)

        return Watched

    plain, tls = watched(http.client.HTTPConnection), watched(http.client.HTTPSConnection)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(plain, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(tls, req, context=self._context)  # type: ignore[attr-defined]

    return urllib.request.build_opener(Http, Https)


class Body:
    """An open response whose body is read in chunks, within its size cap and deadline."""

    def __init__(self, resp, dog: _Watchdog, url: str, cap: tuple[str, int], failure: str) -> None:
        self.headers = resp.headers
        self._resp, self._dog, self._url, self._failure = resp, dog, url, failure
        self._limit, self._cap = cap
        length = self.headers.get("Content-Length")
        self.length = int(length) if length and length.isdigit() else None
        if self.length is not None and self.length > self._cap:
            raise self._too_big()

    def chunks(self) -> Iterator[bytes]:
        """Yield the body; FetchError once it passes the cap or the deadline."""
        read = getattr(self._resp, "read1", self._resp.read)  # read1: return what has arrived
        done = 0
        while True:
            try:
                chunk = read(CHUNK)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise failed(self._url, self._failure, exc, self._dog) from None
            if self._dog.expired:
                raise failed(self._url, self._failure, TimeoutError(), self._dog)
            if not chunk:
                return
            done += len(chunk)
            if done > self._cap:
                raise self._too_big()
            yield chunk

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def _too_big(self) -> FetchError:
        return FetchError(
            f"{self._url}: larger than the {self._limit} cap of {self._cap} bytes "
            f"(raise it with {env_name(self._limit)}); refused, nothing was changed"
        )


def failed(url: str, failure: str, exc: BaseException, dog: _Watchdog) -> FetchError:
    """The one-line error for a request that broke off (deadline, HTTP status, network)."""
    if dog.expired:
        return FetchError(
            f"{url}: not finished within the {dog.seconds:g} s deadline "
            f"(raise it with {env_name('deadline_s')}); nothing was changed"
        )
    if isinstance(exc, urllib.error.HTTPError):
        return FetchError(f"{url}: HTTP {exc.code} {one_line(exc.reason)}")
    return FetchError(f"{url}: {failure} ({one_line(getattr(exc, 'reason', exc))})")


@contextmanager
def open_url(
    url: str, limits: Limits, cap: str, failure: str, accept: str | None = None
) -> Iterator[Body]:
    """Open ``url`` under ``limits``: ``cap`` names the size limit that applies to its body."""
    dog = _Watchdog(limits.deadline_s)
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    timeout = min(limits.read_timeout_s, limits.deadline_s)
    with dog:
        try:
            resp = _opener(dog).open(req, timeout=timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise failed(url, failure, exc, dog) from None
        with resp:
            yield Body(resp, dog, url, (cap, getattr(limits, cap)), failure)
