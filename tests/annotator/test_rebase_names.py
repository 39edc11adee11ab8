"""Tests for annotator.rebase.names: tree-wide definitions, aliases and mentions from one text pass."""

from __future__ import annotations

from pathlib import Path

from annotator.rebase.names import NameTable, same_side, tokens


def table(tmp_path: Path, files: dict[str, str]) -> NameTable:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return NameTable(tmp_path, files)


def test_mentions_are_whole_identifiers_only(tmp_path):
    """``slot`` is not mentioned by ``slot_mapping`` or ``myslot``; a file counts once, wherever it is."""
    t = table(tmp_path, {"a.py": "x = slot_mapping\ny = myslot\n", "b.py": "slot(1)\nslot(2)\n", "c.py": "z = 1  # slot\n"})
    assert t.mentions("slot") == ["b.py", "c.py"]
    assert t.mentions("slot_mapping") == ["a.py"] and t.mentions("lot") == []


def test_aliases_assignment_and_import_as_with_nesting(tmp_path):
    """``Old = New`` at module level, ``import New as Old`` and an indented ``old = new`` are all found."""
    t = table(tmp_path, {
        "m.py": "class NixlPullWorker:\n    pass\n\n\nNixlWorker = NixlPullWorker\n",
        "n.py": "from .m import NixlPullWorker as NixlWorker\n",
        "k.py": "class S:\n    forward = __call__\n",
    })
    found = {(a.path, a.target, a.nested) for a in t.aliases("NixlWorker")}
    assert found == {("m.py", "NixlPullWorker", False), ("n.py", "NixlPullWorker", False)}
    assert [(a.target, a.nested) for a in t.aliases("forward")] == [("__call__", True)]


def test_definers_and_shared_tokens(tmp_path):
    """Defined names are found per file; similar names share a name token."""
    t = table(tmp_path, {"a.py": "def compute_slot_mappings():\n    pass\n", "b.py": "class NgramGPUSpeculator:\n    pass\n"})
    assert t.definers("compute_slot_mappings") == ["a.py"] and t.definers("missing") == []
    assert "compute_slot_mappings" in t.sharing_tokens("compute_slot_mapping")
    assert "NgramGPUSpeculator" in t.sharing_tokens("NgramProposer")
    assert tokens("NgramGPUSpeculator") == {"ngram", "gpu", "speculator"}


def test_tests_never_inherit_package_jobs():
    """A look-alike under tests/ is not on the package's side; one in the package is."""
    assert not same_side("vllm/a.py", "tests/a.py") and same_side("vllm/a.py", "vllm/b/c.py")
    assert same_side("tests/a.py", "tests/b.py")
