"""The scanner's public face: dispatch by file type, unreadable files, document discovery, robustness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator import config as config_mod
from annotator.anchors import iter_documents, scan_file, scan_text
from annotator.errors import InputError

PIECES = [
    "a.py", "vllm/x.py", "upstream/", "../", "/", ":12", ":L3", "-L5", "–7", " — ", " - ", "--", "`", "``",
    "|", "\n", "\r\n", "[t](upstream/a.py#L3)", "](", "#L9", '"""', "'''", "# ", "http://", "Foo.bar()",
    "(", ")", "```anchors\n", "```\n", "- ", " ", "x[1:2]", "12:30", "def f():\n    ", "\t", "é", "\x00",
]  # fmt: skip
anchorish = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map("".join)


def test_scan_text_reads_markdown_or_python() -> None:
    """The same text is markdown by default and Python (comments only) when asked."""
    text = 'x = "a/b.py:3"\n# a/c.py:4\n'
    assert [a.path for a in scan_text(text, "d")] == ["a/b.py", "a/c.py"]
    assert [a.path for a in scan_text(text, "d", python=True)] == ["a/c.py"]


def test_scan_file_picks_the_scanner_by_suffix(tmp_path: Path) -> None:
    """A .py file is read as Python, anything else as markdown; doc defaults to the path."""
    body = 'x = "a/b.py:3"\n'
    (tmp_path / "m.py").write_text(body, "utf-8")
    (tmp_path / "m.md").write_text(body, "utf-8")
    assert scan_file(tmp_path / "m.py") == []
    (found,) = scan_file(tmp_path / "m.md")
    assert found.doc == (tmp_path / "m.md").as_posix()
    assert scan_file(tmp_path / "m.md", "named.md")[0].doc == "named.md"


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"ok\na.py:3\x00\x01", "binary"), (b"ok\ncaf\xe9 a.py:3", "not UTF-8")],
)
def test_unreadable_documents_raise_input_error_naming_the_file(tmp_path: Path, data: bytes, words: str) -> None:
    """Binary and non-UTF-8 files raise InputError naming the file, the offending line and the reason."""
    path = tmp_path / "bad.md"
    path.write_bytes(data)
    with pytest.raises(InputError, match=words) as info:
        scan_file(path)
    assert f"{path}:2:" in str(info.value)


def test_missing_document_raises_input_error(tmp_path: Path) -> None:
    """A path that is not there is an InputError, not an OSError."""
    with pytest.raises(InputError, match="cannot read"):
        scan_file(tmp_path / "absent.md")


def _project(tmp_path: Path) -> config_mod.Config:
    (tmp_path / "pyproject.toml").write_text("[tool.annotate]\nupstream_dir = 'upstream'\n", "utf-8")
    for rel in ["notes/a.md", "notes/b.py", "notes/c.txt", "notes/.hidden/d.md", "upstream/e.md",
                "site/f.md", "notes/__pycache__/g.py", "notes/sub/h.md"]:  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n", "utf-8")
    return config_mod.load(tmp_path)


def test_iter_documents_expands_directories(tmp_path: Path) -> None:
    """Directories give their .md/.py files sorted; hidden, cache, upstream and site dirs are skipped."""
    config = _project(tmp_path)
    found = iter_documents([tmp_path], config)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["notes/a.md", "notes/b.py", "notes/sub/h.md"]


def test_iter_documents_keeps_named_files_and_dedupes(tmp_path: Path) -> None:
    """A file named explicitly is kept whatever its suffix, and listed once."""
    config = _project(tmp_path)
    txt = tmp_path / "notes/c.txt"
    found = iter_documents([txt, tmp_path / "notes", txt], config)
    assert txt in found and len(found) == len(set(found)) == 4


def test_iter_documents_rejects_missing_paths(tmp_path: Path) -> None:
    """A PATH that does not exist is a usage error (InputError → exit 2)."""
    with pytest.raises(InputError, match="no such file"):
        iter_documents([tmp_path / "nope"], None)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300) | anchorish, python=st.booleans())
def test_arbitrary_text_never_raises_and_spans_are_exact(text: str, python: bool) -> None:
    """Any text scans without exception; every anchor's text and path sit where its spans say."""
    lines = text.split("\n")
    for a in scan_text(text, "d", python=python):
        line = lines[a.doc_line - 1].rstrip("\r")
        assert line[a.doc_col - 1 :].startswith(a.text)
        if a.path_span is not None:
            assert line[a.path_span[0] : a.path_span[1]] == a.path
        assert _written_line(line[a.line_span[0] : a.line_span[1]]) == a.line
        assert a.label_kind in (None, "symbol", "prose")


def _written_line(span: str) -> int:
    """The first line number written in a line span: a minus sign, ASCII digits (capped at 10**18)."""
    sign = -1 if span[:1] in ("-", "\u2212") else 1
    digits = re.match(r"[0-9]+", span.lstrip("-\u2212L")).group().lstrip("0") or "0"  # type: ignore[union-attr]
    return sign * (int(digits) if len(digits) <= 18 else 10**18)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_scan_or_raise_input_error(tmp_path: Path, data: bytes) -> None:
    """Any bytes in a .md or .py file either scan or raise InputError; nothing else escapes."""
    for name in ("x.md", "x.py"):
        path = tmp_path / name
        path.write_bytes(data)
        try:
            scan_file(path)
        except InputError:
            assert b"\x00" in data or not _utf8(data)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
