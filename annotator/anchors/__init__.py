"""Find the citations (anchors) in course documents: markdown files and Python comments/docstrings.

This is the public face of the scanner. The grammar of one line lives in
:mod:`annotator.anchors.grammar` (labels and code spans in :mod:`annotator.anchors.text`), the
document context that continuations and basenames need in :mod:`annotator.anchors.context`,
markdown blocks in :mod:`annotator.anchors.markdown`, Python sources in :mod:`annotator.anchors.python`.

Conventions a writer needs to know:

* ``path:line — Label`` with an em or en dash, ``--`` or ``-`` (or a lookalike: minus sign,
  hyphen, figure dash, horizontal bar, …), spaces optional, ``()`` optional, inside or outside
  backticks; ranges ``:390–392``, ``:390-392``, ``:L390-L392``, ``path L390-L392``. Line numbers
  are ASCII digits; a negative or absurdly long one is still a citation (reported out of range).
  The path must end in a source-like extension (``.py``, ``.md``, ``.cu``, ``.h``, ``.toml``, …).
* ``upstream/…`` and ``…/upstream/…`` mean the tree root; a bare basename is resolved against the
  tree (by the resolver, helped by :attr:`Anchor.near_dir`).
* ``:443 — label`` continues the file of the previous citation in the same paragraph, list or table.
* A label that is a dotted identifier, optionally ending in ``()``, is a *symbol*: the named
  definition must contain the cited line. Any other label is *prose*.
* Markdown links count when their target runs through ``upstream/`` and ends in ``#L333`` or
  ``#L333-L352``; the link text is the label (a lone plain word such as ``here`` is none).
* Code blocks (indented, or fenced) are skipped, unless a fence's info string contains the word
  ``anchors`` (```` ```anchors ```` or ```` ```text anchors ````): then every line is read.
* In a table row, an anchor without a label takes the row's symbol-like cell (backticked, a
  call, dotted, snake_case or CamelCase).
* In Python, only comments and statement-level strings (docstrings) are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from annotator.anchors.markdown import scan_markdown
from annotator.anchors.python import scan_python
from annotator.config import walk_files
from annotator.errors import InputError
from annotator.records import Anchor

if TYPE_CHECKING:
    from annotator.config import Config

DOC_SUFFIXES = (".md", ".py")


def scan_text(text: str, doc: str, *, python: bool = False) -> list[Anchor]:
    """Every anchor in ``text`` in reading order; ``doc`` names the document in the records.

    Args:
        text: the whole document.
        doc: its name in findings (a project-relative path, usually).
        python: read it as Python source (comments and docstrings only) instead of markdown.
    """
    return scan_python(text, doc) if python else scan_markdown(text, doc)


def scan_file(path: Path, doc: str | None = None) -> list[Anchor]:
    """Read and scan one document; ``.py`` files as Python, everything else as markdown.

    Raises:
        InputError: the file is missing, unreadable, binary (has a NUL byte) or not UTF-8.
    """
    _, text = read_document(path)
    return scan_text(text, doc if doc is not None else path.as_posix(), python=path.suffix == ".py")


def read_document(path: Path) -> tuple[bytes, str]:
    """A document's bytes and their text; rebase keeps the bytes to rewrite exactly what it scanned.

    Raises:
        InputError: the file is missing, unreadable, binary (has a NUL byte) or not UTF-8.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{path}:{_line_of(data, nul)}: binary file (NUL byte); remove the byte or leave the file out")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"{path}:{_line_of(data, exc.start)}"
        raise InputError(f"{where}: not UTF-8 (byte {exc.start}); save it as UTF-8 or leave it out") from None
    return data, text


def doc_name(path: Path, root: Path) -> str:
    """A document's name in findings: relative to the project, else to the cwd, else absolute.

    verify and rebase both name documents this way, so their reports and JSON agree.
    """
    full = path.resolve()
    for base in (root.resolve(), Path.cwd().resolve()):
        if full.is_relative_to(base):
            return full.relative_to(base).as_posix()
    return full.as_posix()


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset, so errors point at the offending line."""
    return data.count(b"\n", 0, offset) + 1


def iter_documents(paths: list[Path], config: Config | None = None) -> list[Path]:
    """Expand directories to their ``*.md``/``*.py`` files; sorted, de-duplicated.

    With no paths, the documents are the project's configured ones (``config.doc_paths()``).

    Inside a directory, hidden directories, virtualenvs and caches are skipped, and so are the
    configured upstream tree and site directory (they are what we cite and what we build, not
    course material); symlinked folders are not followed. A file named explicitly is always
    kept, whatever its suffix.

    Raises:
        InputError: a path does not exist.
    """
    if not paths and config is not None:
        return config.doc_paths()
    skip: set[Path] = set()
    if config is not None:
        skip = config.not_documents()
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            found.update(p for p in walk_files(path, skip) if p.suffix in DOC_SUFFIXES)
        else:
            raise InputError(f"{path}: no such file or directory")
    return sorted(found)
