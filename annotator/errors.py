"""One root exception so the CLI can turn every user-facing failure into a line and exit code 2.

Messages follow ``path:line: what went wrong, and what to do``; the CLI prints them verbatim and
never shows a traceback for them.
"""

from __future__ import annotations


class AnnotateError(Exception):
    """Root of every error a user can cause or fix (bad input, missing tree, network, disk)."""

    exit_code = 2


class ConfigError(AnnotateError):
    """The project's ``[tool.annotate]`` table or the pin file is missing or malformed."""


class FetchError(AnnotateError):
    """Resolving, downloading, checking or unpacking an sdist failed; ``upstream/`` is untouched."""


class UnsafeArchiveError(FetchError):
    """An archive member would escape the target or is a link/device: refused before anything lands."""


class TreeMissingError(AnnotateError):
    """The upstream tree a command needs is not there; the message says how to fetch it."""


class InputError(AnnotateError):
    """A document could not be read (missing, binary, not UTF-8, outside the allowed root)."""


class RebaseError(AnnotateError):
    """A rebase could not complete; every file and the pin were left as they were."""
