"""Unpack an sdist safely: no member escapes, no link lands, and no bomb fills the disk.

The decompressed stream is read through a meter that refuses to go past a byte budget (the
total-size cap, and the compression-ratio cap relative to the archive's size on disk), so a small
archive that inflates to gigabytes is refused after reading at most the budget, before any
large write. Every member is checked before the first one is written.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from annotator.errors import FetchError, UnsafeArchiveError
from annotator.fetch.net import Limits, env_name, one_line

GZIP_MAGIC = b"\x1f\x8b"


class _Metered(io.RawIOBase):
    """A read-only view of a decompressed stream that refuses to pass ``budget`` bytes."""

    def __init__(self, inner: BinaryIO, budget: int, refusal: str) -> None:
        super().__init__()
        self._inner, self._budget, self._refusal = inner, budget, refusal

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        room = self._budget + 1 - self._inner.tell()
        data = self._inner.read(room if size is None or size < 0 or size > room else size)
        if self._inner.tell() > self._budget:
            raise UnsafeArchiveError(self._refusal)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else None
        if whence == io.SEEK_CUR:
            target = self._inner.tell() + offset
        if target is not None and target > self._budget:
            raise UnsafeArchiveError(self._refusal)
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


def _budget(sdist: Path, limits: Limits) -> tuple[int, str]:
    """How many decompressed bytes the archive may hold, and the refusal naming the cap hit."""
    by_ratio = max(int(sdist.stat().st_size * limits.ratio), limits.ratio_floor_bytes)
    if by_ratio < limits.unpacked_bytes:
        why = f"more than {limits.ratio:g} times its size (raise it with {env_name('ratio')})"
        return by_ratio, f"{sdist.name}: unpacks to {why}; refused as a decompression bomb"
    why = f"more than the unpacked_bytes cap of {limits.unpacked_bytes} bytes"
    return limits.unpacked_bytes, (
        f"{sdist.name}: unpacks to {why} (raise it with {env_name('unpacked_bytes')}); refused"
    )


def _checked_members(
    archive: tarfile.TarFile, name: str, limits: Limits
) -> list[tuple[tarfile.TarInfo, str]]:
    """Refuse the whole archive if any member is a link, device, sparse or escapes; strip the top."""
    members = []
    for count, member in enumerate(archive, 1):
        if count > limits.members:
            raise UnsafeArchiveError(
                f"{name}: more than {limits.members} members "
                f"(raise it with {env_name('members')}); refused"
            )
        if not (member.isfile() or member.isdir()) or member.issparse():
            raise UnsafeArchiveError(f"{name}: member {member.name!r} is a link, device or sparse file; refused")
        parts = PurePosixPath(member.name).parts
        if member.name.startswith("/") or ".." in parts or "\\" in member.name:
            raise UnsafeArchiveError(f"{name}: member {member.name!r} escapes the target; refused")
        inner = "/".join(parts[1:])
        if inner:
            members.append((member, inner))
    return members


def _write(archive: tarfile.TarFile, members: list[tuple[tarfile.TarInfo, str]], dest: Path, progress) -> None:
    for i, (member, inner) in enumerate(members, 1):
        target = dest / inner
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            src = archive.extractfile(member)
            if src is None:  # isfile() members always have data; a lying header is refused
                raise UnsafeArchiveError(f"member {member.name!r} has no data; refused")
            with src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
        if i % 500 == 0 or i == len(members):
            progress("unpack", i, len(members))


def unpack(sdist: Path, dest: Path, progress, limits: Limits) -> None:
    """Unpack ``sdist`` (a gzip or plain tarball) into the empty ``dest``, without its top folder."""
    try:
        with open(sdist, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw) if gzipped else raw  # type: ignore[assignment]
            budget, refusal = _budget(sdist, limits)
            with tarfile.open(fileobj=_Metered(stream, budget, refusal), mode="r:") as archive:
                _write(archive, _checked_members(archive, sdist.name, limits), dest, progress)
    except UnsafeArchiveError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise FetchError(f"{sdist}: cannot unpack ({one_line(exc)}); nothing was changed") from None
