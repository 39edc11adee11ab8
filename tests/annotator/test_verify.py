"""`annotate verify` end to end, in-process: formats, exit codes, warnings, and the golden document."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from annotator.cli import main

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[2]
KEYS = ["doc", "doc_line", "doc_col", "text", "path", "line", "line_end", "label", "label_kind", "kind",
        "status", "message", "suggestion"]  # fmt: skip
GOOD = "# Notes\n\n- `pkg/core/block_pool.py:20 — BlockPool.get_new_blocks()` hands out blocks\n"
BAD = "- `pkg/core/block_pool.py:5 — BlockPool.get_new_blocks()`\n- `pkg/core/gone.py:1`\n- ok `README.md:1`\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose pyproject points at a copy of the toy tree, with one good annotation and one engine file."""
    shutil.copytree(GOLDEN / "tree", tmp_path / "upstream")
    (tmp_path / "pyproject.toml").write_text('[tool.annotate]\nupstream_dir = "upstream"\n', "utf-8")
    _write(tmp_path / "annotations" / "phase-1" / "good.md", GOOD)
    _write(tmp_path / "minivllm" / "pool.py", '"""Pool."""\n# upstream: pkg/core/block_pool.py:8 — BlockPool\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / ".cache"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def test_default_documents_all_ok_exit_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without PATHs the configured docs (annotations/, minivllm/) are verified; all ok exits 0."""
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "2 anchors in 2 documents: 2 ok, none broken; checked against upstream/ (the tree records no version)"


def test_text_groups_broken_anchors_by_document(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Broken anchors are listed under their document with status, message and suggestion; exit 1."""
    _write(project / "annotations" / "bad.md", BAD)
    assert main(["verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "annotations/bad.md"
    assert out[1].startswith("  1:4  wrong-line  pkg/core/block_pool.py:5")
    assert "suggestion: pkg/core/block_pool.py:20 — BlockPool.get_new_blocks()" in out[3]
    assert any(line.startswith("  2:4  missing-file") for line in out)
    assert out[-1] == "5 anchors in 3 documents: 3 ok, 2 broken (1 missing-file, 1 wrong-line); checked against upstream/ (the tree records no version)"


def test_json_has_every_anchor_with_the_contract_keys(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints one array holding every anchor, ok ones included, keys as in DESIGN.md."""
    _write(project / "annotations" / "bad.md", BAD)
    assert main(["verify", "--format", "json"]) == 1
    records = json.loads(capsys.readouterr().out)
    assert [list(r) for r in records] == [KEYS] * 5
    assert sorted(r["status"] for r in records) == ["missing-file", "ok", "ok", "ok", "wrong-line"]
    assert {r["doc"] for r in records} == {"annotations/bad.md", "annotations/phase-1/good.md", "minivllm/pool.py"}


def test_github_format_and_step_summary(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """::error lines carry file/line/col; a summary line follows; the job summary is appended to."""
    _write(project / "annotations" / "bad.md", BAD)
    summary = _write(project / "summary.md", "earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["verify", "--format", "github"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("::error file=annotations/bad.md,line=1,col=4,title=anchor wrong-line::")
    assert out[1].startswith("::error file=annotations/bad.md,line=2,col=4,title=anchor missing-file::")
    assert out[2] == "annotate verify: 5 anchors in 3 documents: 3 ok, 2 broken (1 missing-file, 1 wrong-line); checked against upstream/ (the tree records no version)"
    written = summary.read_text("utf-8")
    assert written.startswith("earlier step\n## annotate verify")
    assert "| annotations/bad.md | 1 | `pkg/core/block_pool.py:5 — BlockPool.get_new_blocks()` | wrong-line |" in written


def test_missing_upstream_exits_2_and_says_how_to_fetch(project: Path, capsys) -> None:
    """With no upstream tree the command fails with exit 2 and points at `annotate fetch`."""
    shutil.rmtree(project / "upstream")
    assert main(["verify"]) == 2
    assert "annotate fetch" in capsys.readouterr().err


def test_upstream_option_and_paths_outside_the_project(project: Path, tmp_path_factory, capsys) -> None:
    """--upstream picks another tree, and a PATH outside the project is verified like any other."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.move(project / "upstream", elsewhere / "tree")
    doc = _write(elsewhere / "notes.md", GOOD)
    assert main(["verify", str(doc), "--upstream", str(elsewhere / "tree"), "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["doc"] == doc.as_posix() and record["status"] == "ok"


def test_unreadable_document_fails_the_run_after_the_others(project: Path, capsys) -> None:
    """A non-UTF-8 or binary document is one error line naming it and exit 2; the others are still checked."""
    (project / "annotations" / "latin1.md").write_bytes(b"caf\xe9 pkg/core/gone.py:1\n")
    (project / "annotations" / "blob.md").write_bytes(b"\x00\x01pkg/core/gone.py:1")
    assert main(["verify"]) == 2
    captured = capsys.readouterr()
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("error: ") for w in warnings)
    assert any("latin1.md" in w and "not UTF-8" in w for w in warnings)
    assert any("blob.md" in w and "binary" in w for w in warnings)
    assert "2 anchors in 4 documents" in captured.out


def test_missing_path_is_a_usage_error(project: Path, capsys) -> None:
    """A PATH that does not exist exits 2 with a message naming it."""
    assert main(["verify", "nope.md"]) == 2
    assert "nope.md" in capsys.readouterr().err


def test_bad_format_is_a_usage_error(project: Path) -> None:
    """An unknown --format value exits 2."""
    assert main(["verify", "--format", "xml"]) == 2


def test_golden_document_matches_the_committed_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """Every form and every status in golden/anchors.md resolves exactly as golden/anchors.expected.json says.

    Regenerate (then review the diff by hand) from the repository root with:
    annotate verify tests/annotator/golden/anchors.md --upstream tests/annotator/golden/tree
        --format json > tests/annotator/golden/anchors.expected.json
    """
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path))
    doc, tree = "tests/annotator/golden/anchors.md", "tests/annotator/golden/tree"
    assert main(["verify", doc, "--upstream", tree, "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    expected = json.loads((GOLDEN / "anchors.expected.json").read_text("utf-8"))
    assert found == expected
    statuses = {r["status"] for r in found}
    assert statuses == {"ok", "missing-file", "line-out-of-range", "ambiguous-path", "wrong-line",
                        "wrong-file", "unknown-symbol"}  # fmt: skip
    assert {r["kind"] for r in found} >= {"def", "lead", "interior"}
