"""Tests for ``annotate rebase`` (annotator.commands.rebase) end to end, in-process, on a tmp project.

The project pins the miniature fixture release v0.1.0; a file:// package index serves the
fixture sdists of v0.1.0 and v0.2.0 (tests/annotator/fixtures/rebase), so the whole path —
fetch, index, scan, map, rewrite, pin move, upstream swap — runs with no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from annotator import fetch
from annotator import pin as pin_mod
from annotator.cli import main

FIX = Path(__file__).parent / "fixtures" / "rebase"
POOL = "vllm/core/pool.py"


def line_of(version: str, path: str, needle: str) -> int:
    """1-based line of the first line of the fixture file containing ``needle``."""
    lines = (FIX / f"v{version}" / path).read_text().split("\n")
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def make_index(tmp: Path) -> tuple[str, dict[str, str]]:
    """A PEP 503 file:// index with the fixture sdists; returns (index url, version → sha256)."""
    files = tmp / "files"
    files.mkdir(parents=True)
    links, shas = [], {}
    for version in ("0.1.0", "0.2.0"):
        sdist = files / f"vllm-{version}.tar.gz"
        with tarfile.open(sdist, "w:gz") as tar:
            tar.add(FIX / f"v{version}", arcname=f"vllm-{version}")
        shas[version] = hashlib.sha256(sdist.read_bytes()).hexdigest()
        links.append(f'<a href="../../files/{sdist.name}#sha256={shas[version]}">{sdist.name}</a>')
    (tmp / "simple" / "vllm").mkdir(parents=True)
    (tmp / "simple" / "vllm" / "index.html").write_text("\n".join(links))
    return (tmp / "simple").as_uri(), shas


NOTES = """# Notes

The pool: `vllm/core/pool.py:{cls} — BlockPool` hands out blocks;
`vllm/core/pool.py:{get} — BlockPool.get_new_blocks()` pops them,
and :{taken} — the list of taken blocks, CRLF next.\r
Hashing: `vllm/core/evict.py:{hash} — compute_hash()`; eviction `evict.py:{evict} — evict_everything()`.
Guide: `docs/guide.md:{guide}`.
"""

MINI = '''"""Mini pool; mirrors upstream vllm/core/pool.py:{cls} — BlockPool."""


def get(pool, n):  # upstream: vllm/core/pool.py:{get} — BlockPool.get_new_blocks()
    return pool[:n]
'''


def old_lines() -> dict[str, int]:
    return {
        "cls": line_of("0.1.0", POOL, "class BlockPool"),
        "get": line_of("0.1.0", POOL, "def get_new_blocks"),
        "taken": line_of("0.1.0", POOL, "taken = ["),
        "hash": line_of("0.1.0", "vllm/core/evict.py", "def compute_hash"),
        "evict": line_of("0.1.0", "vllm/core/evict.py", "def evict_everything"),
        "guide": line_of("0.1.0", "docs/guide.md", "freed in reverse"),
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project pinned to v0.1.0 with upstream/ fetched, notes and a minivllm file citing it."""
    url, shas = make_index(tmp_path / "index")
    monkeypatch.setenv("ANNOTATE_INDEX_URL", url)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "proj"
    (root / "annotations").mkdir(parents=True)
    (root / "minivllm").mkdir()
    (root / "pyproject.toml").write_text('[tool.annotate]\nupstream_dir = "upstream"\n')
    the_pin = pin_mod.Pin("vllm", "0.1.0", "1111111", "vllm-0.1.0.tar.gz", shas["0.1.0"])
    pin_mod.write(root / "UPSTREAM_PIN.toml", the_pin)
    (root / "UPSTREAM_PIN.md").write_text(pin_mod.render_page(the_pin))
    fetch.fetch_pin(the_pin, root / "upstream", tmp_path / "cache", url, lambda *a: None)
    (root / "annotations" / "notes.md").write_bytes(NOTES.format(**old_lines()).encode())
    (root / "minivllm" / "pool.py").write_text(MINI.format(**old_lines()))
    monkeypatch.chdir(root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the project except upstream/'s (compared through its marker)."""
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and "upstream" not in p.relative_to(root).parts}
    files["upstream-marker"] = (root / "upstream" / fetch.MARKER).read_bytes()
    return files


def expected_notes() -> bytes:
    new = {
        "cls": line_of("0.2.0", POOL, "class BlockPool"),
        "get": line_of("0.2.0", POOL, "def get_new_blocks"),
        "taken": line_of("0.2.0", POOL, "taken = ["),
        "hash": line_of("0.2.0", "vllm/core/hashing.py", "def compute_hash"),
        "evict": line_of("0.2.0", "vllm/core/evict.py", "def evict_all"),
        "guide": line_of("0.2.0", "docs/guide.md", "freed in reverse"),
    }
    renamed = NOTES.replace("evict_everything()", "evict_all()")  # the renamed anchor's label follows it
    return renamed.format(**new).replace("vllm/core/evict.py:", "vllm/core/hashing.py:").encode()


def test_rebase_rewrites_docs_and_moves_pin_and_upstream(project, capsys):
    """A real rebase rewrites only anchor characters, moves the pin, its page and upstream/."""
    assert main(["rebase", "--to", "v0.2"]) == 0
    assert (project / "annotations" / "notes.md").read_bytes() == expected_notes()
    new = {"cls": line_of("0.2.0", POOL, "class BlockPool"), "get": line_of("0.2.0", POOL, "def get_new_blocks")}
    assert (project / "minivllm" / "pool.py").read_text() == MINI.format(**new)
    moved = pin_mod.read(project / "UPSTREAM_PIN.toml")
    assert (moved.version, moved.commit, moved.sdist) == ("0.2.0", "2222222", "vllm-0.2.0.tar.gz")
    assert (project / "UPSTREAM_PIN.md").read_text() == pin_mod.render_page(moved)
    assert fetch.read_marker(project / "upstream")["version"] == "0.2.0"
    assert (project / "upstream" / "vllm" / "core" / "hashing.py").is_file()
    out = capsys.readouterr().out
    assert "renamed" in out and "moved-file" in out and "pin and upstream/ moved" in out


def test_rebasing_again_changes_nothing(project):
    """Rebasing twice gives the same bytes as once: the second run is a no-op."""
    assert main(["rebase", "--to", "0.2.0"]) == 0
    after_once = snapshot(project)
    assert main(["rebase", "--to", "0.2.0"]) == 0
    assert snapshot(project) == after_once


def test_rebase_to_pinned_version_changes_nothing(project, capsys):
    """Rebasing to the version already pinned maps every anchor to itself and writes nothing."""
    before = snapshot(project)
    assert main(["rebase", "--to", "v0.1.0", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and {r["status"] for r in records} == {"unchanged"}
    assert snapshot(project) == before


def test_dry_run_writes_nothing(project, capsys):
    """--dry-run reports the mapping but leaves every document, the pin and upstream/ untouched."""
    before = snapshot(project)
    assert main(["rebase", "--to", "v0.2", "--dry-run"]) == 0
    assert snapshot(project) == before
    assert "dry run: nothing written" in capsys.readouterr().out


def test_json_has_one_record_per_anchor(project, capsys):
    """--format json prints DESIGN.md's records, one per anchor, with statuses of every kind seen."""
    assert main(["rebase", "--to", "v0.2", "--dry-run", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 8
    assert {r["status"] for r in records} == {"moved", "moved-file", "renamed"}
    for r in records:
        assert set(r) >= {"doc", "doc_line", "text", "old", "new", "status", "body_changed", "confidence"}
        assert 0.0 <= r["confidence"] <= 1.0


def test_missing_anchor_exits_1_and_is_listed(project, capsys):
    """An anchor whose definition was deleted (``removed``) makes the exit code 1 and is listed with its reason."""
    notes = project / "annotations" / "notes.md"
    line = line_of("0.1.0", POOL, "def old_helper")
    notes.write_text(notes.read_text() + f"Gone: `vllm/core/pool.py:{line} — BlockPool.old_helper()`.\n")
    assert main(["rebase", "--to", "v0.2", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "removed" in out and "BlockPool.old_helper is not in 0.2.0" in out


def test_text_output_shows_diff_of_changed_code(project, capsys):
    """Anchors on changed code are listed with a unified diff of the old and new code."""
    assert main(["rebase", "--to", "v0.2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"--- {POOL}:" in out and "+++ " in out and "DEFAULT_NUM_BLOCKS" in out


def test_failure_midway_leaves_every_file_as_it_was(project, monkeypatch):
    """An injected rename failure mid-write exits 2 and leaves docs, pin and upstream/ unchanged."""
    assert main(["rebase", "--to", "0.2.0", "--dry-run"]) == 0  # the target is now in the cache
    before = snapshot(project)
    real, renamed, failed = os.replace, [], []

    def flaky(src, dst, *args, **kwargs):
        if Path(dst).name == "journal.json":  # the rebase's intent journal, not a document
            return real(src, dst, *args, **kwargs)
        if len(renamed) == 2 and not failed:  # two files are in place when the third rename fails
            failed.append(dst)
            raise OSError("injected")
        renamed.append(Path(dst).name)
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", flaky)
    assert main(["rebase", "--to", "0.2.0"]) == 2
    monkeypatch.undo()
    assert renamed[:2] and all(name.endswith((".md", ".py", ".toml")) for name in renamed[:2])
    assert snapshot(project) == before
    assert fetch.read_marker(project / "upstream")["version"] == "0.1.0"


def test_missing_pinned_tree_is_an_error(project, capsys):
    """Without the pinned upstream/ the command exits 2 and says how to fetch it."""
    import shutil

    shutil.rmtree(project / "upstream")
    assert main(["rebase", "--to", "v0.2"]) == 2
    assert "annotate fetch" in capsys.readouterr().err


def test_report_file_and_json_fields(project, capsys, tmp_path):
    """``--report`` writes the review page (even on a dry run); JSON records carry successor and release."""
    report = tmp_path / "review.md"
    assert main(["rebase", "--to", "v0.2", "--dry-run", "--format", "json", "--report", str(report)]) == 0
    records = json.loads(capsys.readouterr().out)
    renamed = next(r for r in records if r["status"] == "renamed")
    assert (renamed["successor"], renamed["release"]) == ("evict_all", "0.2.0") and renamed["evidence"]
    text = report.read_text()
    assert text.startswith("# Since the pin: 0.1.0 → 0.2.0") and "## annotations/notes.md" in text
    assert "evict_everything()" in text and "successor: `evict_all`" in text


@pytest.mark.parametrize("via", ["all", "minor", "none"])
def test_every_via_reaches_the_same_target(project, capsys, via):
    """With one release between pin and target, every ``--via`` maps the anchors the same way."""
    assert main(["rebase", "--to", "0.2.0", "--dry-run", "--format", "json", "--via", via]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in records} == {"moved", "moved-file", "renamed"}


def test_unknown_via_is_a_usage_error(project, capsys):
    """``--via sometimes`` is refused with exit 2 and a one-line message."""
    assert main(["rebase", "--to", "v0.2", "--dry-run", "--via", "sometimes"]) == 2
    assert "--via" in capsys.readouterr().err


def test_verify_passes_after_a_rebase_with_a_rename(project, capsys):
    """The renamed anchor's label is rewritten with its path and line, so ``verify`` passes afterwards."""
    assert main(["rebase", "--to", "v0.2"]) == 0
    capsys.readouterr()
    assert main(["verify", "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)
    assert any(f["label"] == "evict_all()" and f["status"] == "ok" for f in findings)


def test_unreadable_document_stops_the_rebase_before_any_write(project, capsys):
    """A document with a NUL byte: exit 2, one line naming it, every file (and upstream/) as it was."""
    (project / "annotations" / "broken.md").write_bytes(b"# Notes\n\nbad \x00 byte `vllm/core/pool.py:4`\n")
    before = snapshot(project)
    assert main(["rebase", "--to", "v0.2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.md:" in err[0]
    assert snapshot(project) == before
