"""The commands a course author types, run in a foreign repository with no configuration.

Each test takes the ``course`` fixture (tests/annotator/conftest.py): an mdBook repository with no
pyproject.toml and ``upstream/`` as a git clone; the cwd is inside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator import config as config_mod
from annotator.cli import main


def test_zero_config_finds_every_markdown_page(course):
    """No config file: every *.md outside upstream/, build outputs and hidden folders is a document."""
    cfg = config_mod.load()
    names = [p.relative_to(course.root).as_posix() for p in cfg.doc_paths()]
    assert names == ["phase-03-batching/CHEATSHEET.md", "src/SUMMARY.md", "src/phase-02-paged/01-deep-dive.md"]
    assert cfg.source is None and cfg.root == course.root and cfg.pin_file is None


def test_zero_config_from_a_subdirectory(course, monkeypatch):
    """Started deep inside the book, the root is still the git top level."""
    monkeypatch.chdir(course.root / "src" / "phase-02-paged")
    assert config_mod.load().root == course.root


def test_verify_reports_the_rotted_anchor_and_names_the_tree(course, capsys):
    """verify checks every document, exits 1 on the broken anchor and names what it checked against."""
    assert main(["verify", "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    by_status = sorted((f["doc"], f["doc_line"], f["status"]) for f in findings)
    assert by_status == [
        ("phase-03-batching/CHEATSHEET.md", 5, "ok"),
        ("src/phase-02-paged/01-deep-dive.md", 3, "ok"),
        ("src/phase-02-paged/01-deep-dive.md", 4, "ok"),
        ("src/phase-02-paged/01-deep-dive.md", 6, "wrong-line"),
    ]
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "checked against tinyllm 0.1.0 @ " in out and "from upstream/.git" in out


def test_missing_tree_is_one_line_saying_how_to_make_it(course, capsys):
    """Without upstream/, verify exits 2 with one line naming the directory and the fix."""
    import shutil

    shutil.rmtree(course.upstream)
    assert main(["verify"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(course.upstream) in err and "annotate init" in err and "annotate fetch" in err


def test_rebase_rewrites_documents_byte_exactly_and_keeps_the_clone(course, capsys):
    """rebase --to 0.2.0 moves every anchor down six lines, leaves the git clone alone, says how to move it."""
    course.fix_rotted_anchor()
    before_deep, before_cheat = course.deep_dive.read_bytes(), course.cheatsheet.read_bytes()
    assert main(["rebase", "--to", "0.2.0"]) == 0
    out = capsys.readouterr().out
    assert course.deep_dive.read_bytes() == (
        before_deep.replace(b"pool.py:7 ", b"pool.py:13 ").replace(b"pool.py:11 ", b"pool.py:17 ")
        .replace(b"pool.py:8 ", b"pool.py:14 ")
    )
    assert course.cheatsheet.read_bytes() == before_cheat.replace(b"pool.py:4`", b"pool.py:10`")
    assert (course.upstream / ".git").is_dir()
    assert "git -C upstream fetch --tags && git -C upstream checkout v0.2.0" in out


def test_init_writes_a_config_that_verify_then_uses(course, capsys):
    """init pins the clone's release from the index; a second verify reads annotate.toml."""
    course.fix_rotted_anchor()
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    text = (course.root / "annotate.toml").read_text()
    assert 'docs = ["phase-03-batching/**/*.md", "src/**/*.md"]' in text
    assert 'package = "tinyllm"' in text and 'version = "0.1.0"' in text
    assert "3 documents, 4 anchors" in out and "next: annotate verify" in out
    cfg = config_mod.load()
    assert cfg.source == course.root / "annotate.toml" and cfg.pin_file == course.root / "annotate.toml"
    assert main(["verify"]) == 0
    assert main(["init"]) == 2, "never overwrites"


def test_a_pin_that_disagrees_with_the_tree_exits_2(course, capsys):
    """annotate.toml pinning 0.2.0 over a 0.1.0 clone is a one-line error, exit 2."""
    assert main(["init", "--version", "0.2.0"]) == 0
    capsys.readouterr()
    assert main(["verify"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pins tinyllm 0.2.0" in err and "0.1.0" in err


def test_config_shows_where_each_setting_came_from(course, capsys):
    """annotate config names zero-config defaults, then the file once init wrote one."""
    assert main(["config", "--format", "json"]) == 0
    rows = {r["setting"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["root"]["from"] == "git top level" and rows["config file"]["value"].startswith("(none")
    (course.root / ".annotate.toml").write_text('docs = ["src/**/*.md"]\n')
    assert main(["config", "--format", "json"]) == 0
    rows = {r["setting"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["docs"] == {"setting": "docs", "value": "src/**/*.md", "from": ".annotate.toml"}


@pytest.mark.parametrize("where", ["/", "unrelated"])
def test_tree_commands_need_no_configuration(course, tmp_path, monkeypatch, capsys, where):
    """graph calls --tree and index --tree run from / and from a dir with an unrelated pyproject."""
    if where == "unrelated":
        other = tmp_path / "other"
        other.mkdir()
        (other / "pyproject.toml").write_text('[project]\nname = "x"\n')
        monkeypatch.chdir(other)
    else:
        monkeypatch.chdir("/")
    assert main(["graph", "calls", "--tree", str(course.upstream)]) == 0
    captured = capsys.readouterr()
    assert isinstance(json.loads(captured.out), dict) and "call sites" in captured.err
    assert main(["index", "--tree", str(course.upstream), "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["files"] == 3 and stats["errors"] == 0


def test_doc_walk_skips_symlinked_folders_and_venvs(course):
    """A symlinked folder (here a loop) and a virtualenv add no documents."""
    (course.root / "src" / "loop").symlink_to(course.root, target_is_directory=True)
    venv = course.root / "env2"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    (venv / "x.md").write_text("x")
    assert len(config_mod.load().doc_paths()) == 3


def test_map_in_a_foreign_repository(course, capsys):
    """map writes MAP.md for a directory of the clone, naming the tree, with no configuration."""
    assert main(["map", "tinyllm/core"]) == 0
    text = (course.root / "MAP.md").read_text()
    assert "tinyllm/core/pool.py" in text and "upstream/" in text


def test_site_without_mkdocs_yml(course, capsys):
    """annotate site renders the course's pages and the cited source file with a built-in config."""
    assert main(["site"]) == 0
    site = course.root / "site"
    deep = (site / "src" / "phase-02-paged" / "01-deep-dive.html").read_text()
    assert 'href="../../source/tinyllm/core/pool.py.html#L7"' in deep
    assert (site / "source" / "tinyllm" / "core" / "pool.py.html").is_file()
    assert (site / "phase-03-batching" / "CHEATSHEET.html").is_file()
    assert not any(p.name.startswith(".site-staging") for p in course.root.iterdir())


def test_build_skips_fetch_for_a_clone_and_runs_the_rest(course, capsys):
    """build in the foreign repo: no fetch (the tree is a clone), verify finds the rotted anchor."""
    code = main(["build", "--no-strict"])
    out = capsys.readouterr().out
    assert "fetch:" not in out and "verify: exit 1" in out and "site: exit 0" in out
    assert code == 1
