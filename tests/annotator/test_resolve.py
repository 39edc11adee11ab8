"""The resolver against a toy tree: every status, containment, kinds, suggestions, and the tree's walls."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator import resolve as resolve_mod
from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.records import STATUSES, Anchor, Finding
from annotator.resolve import resolve, tree_relative

GOLDEN_TREE = Path(__file__).parent / "golden" / "tree"
BP = "pkg/core/block_pool.py"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the toy tree, with a secret file beside it and a symlink out of it."""
    base = tmp_path_factory.mktemp("resolve")
    shutil.copytree(GOLDEN_TREE, base / "tree")
    (base / "secret.py").write_text("SECRET = 1\n", "utf-8")
    os.symlink(base / "secret.py", base / "tree" / "pkg" / "link.py")
    return base / "tree"


@pytest.fixture(scope="module")
def index(tree: Path, tmp_path_factory: pytest.TempPathFactory):
    return open_index(tree, tmp_path_factory.mktemp("cache"))


def _one(index, doc: str) -> Finding:
    return resolve(scan_text(doc, "d.md"), index)[-1]


CASES = [
    # (document, status, kind, resolved path, suggestion)
    (f"`{BP}:20 — BlockPool.get_new_blocks()`", "ok", "def", BP, None),
    (f"`{BP}:21 — BlockPool.get_new_blocks`", "ok", "lead", BP, None),
    (f"`{BP}:15 — BlockPool.num_free`", "ok", "lead", BP, None),
    (f"`{BP}:22 — BlockPool.get_new_blocks()`", "ok", "interior", BP, None),
    (f"`{BP}:L26-L28 — BlockPool.block_bytes`", "ok", "lead", BP, None),
    (f"`{BP}:36 — inner`", "ok", "interior", BP, None),
    (f"`{BP}:12 — BlockPool.free`", "ok", "def", BP, None),
    (f"`{BP}:5 — LIMIT`", "ok", "def", BP, None),
    (f"`{BP}:20 — block_pool.BlockPool.get_new_blocks`", "ok", "def", BP, None),
    (f"`{BP}:8 — pkg.core.block_pool.BlockPool`", "ok", "def", BP, None),
    (f"`{BP}:3 — the import`", "ok", None, BP, None),
    (f"`{BP}:9 — the class docstring`", "ok", "lead", BP, None),
    ("`csrc/kernel.cu:2 — toy_kernel`", "ok", None, "csrc/kernel.cu", None),
    ("`README.md:1`", "ok", None, "README.md", None),
    ("`core/kv_utils.py:4 — KVCacheBlock`", "ok", "def", "pkg/core/kv_utils.py", None),
    ("`upstream/pkg/core/kv_utils.py:7 — KVCacheBlock`", "ok", "interior", "pkg/core/kv_utils.py", None),
    ("`block_pool.py:4 — OtherPool`", "ok", "def", "pkg/other/block_pool.py", None),
    ("See `pkg/other/block_pool.py:1`.\n\nThen `block_pool.py:3`.", "ok", None, "pkg/other/block_pool.py", None),
    ("`pkg/core/nope.py:3`", "missing-file", None, None, None),
    ("`pkg/nope/kv_utils.py:4`", "missing-file", None, None, "pkg/core/kv_utils.py:4"),
    ("`pkg/core/nope.py:3 — Scheduler.schedule()`", "missing-file", None, None, "pkg/sched/scheduler.py:7 — Scheduler.schedule()"),
    ("`../secret.py:1`", "missing-file", None, None, None),
    ("`pkg/core/kv_utils.py:99 — KVCacheBlock`", "line-out-of-range", None, "pkg/core/kv_utils.py", "pkg/core/kv_utils.py:4 — KVCacheBlock"),
    ("`pkg/core/kv_utils.py:0`", "line-out-of-range", None, "pkg/core/kv_utils.py", None),
    ("`pkg/core/kv_utils.py:6-4`", "line-out-of-range", None, "pkg/core/kv_utils.py", None),
    ("`csrc/kernel.cu:9`", "line-out-of-range", None, "csrc/kernel.cu", None),
    ("`block_pool.py:3`", "ambiguous-path", None, None, "pkg/core/block_pool.py:3 or pkg/other/block_pool.py:3"),
    (f"`{BP}:5 — BlockPool.get_new_blocks()`", "wrong-line", None, BP, f"{BP}:20 — BlockPool.get_new_blocks()"),
    (f"`{BP}:22-30 — BlockPool.get_new_blocks()`", "wrong-line", None, BP, f"{BP}:20-28 — BlockPool.get_new_blocks()"),
    (f"`{BP}:7 — Scheduler.schedule()`", "wrong-file", None, BP, "pkg/sched/scheduler.py:7 — Scheduler.schedule()"),
    (f"`{BP}:20 — BlockPool.get_new_block()`", "unknown-symbol", None, BP, f"{BP}:20 — BlockPool.get_new_blocks()"),
    (f"`{BP}:20 — Zq`", "unknown-symbol", None, BP, None),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "status", "kind", "path", "suggestion"), CASES)
def test_status_kind_path_and_suggestion(index, doc: str, status: str, kind, path, suggestion) -> None:
    """Each anchor gets the expected status, kind, resolved path and corrected text."""
    f = _one(index, doc)
    assert (f.status, f.kind, f.path, f.suggestion) == (status, kind, path, suggestion)
    assert f.message


def test_messages_say_what_is_wrong(index) -> None:
    """Messages name the symbol's span, the file's length, or the other file, as a person would."""
    assert "spans lines 20–24" in _one(index, f"`{BP}:5 — BlockPool.get_new_blocks()`").message
    assert "(8 lines)" in _one(index, "`pkg/core/kv_utils.py:99`").message
    assert "pkg/sched/scheduler.py:7" in _one(index, f"`{BP}:7 — Scheduler.schedule()`").message
    assert "outside the upstream tree" in _one(index, "`/etc/hosts.py:1`").message
    near = _one(index, f"`{BP}:20 — BlockPool.get_new_block()`").message
    assert "nearest in the file: BlockPool.get_new_blocks" in near


def test_one_finding_per_anchor_in_order(index) -> None:
    """resolve returns exactly one finding per anchor, in the anchors' order."""
    anchors = scan_text(f"{BP}:8 then {BP}:999 then {BP}:20", "d.md")
    found = resolve(anchors, index)
    assert [f.anchor for f in found] == anchors
    assert [f.status for f in found] == ["ok", "line-out-of-range", "ok"]


def test_many_basename_candidates_use_the_tree_wide_table(index, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_DISAMBIGUATE candidates the symbol is looked up through find_symbol instead."""
    monkeypatch.setattr(resolve_mod, "MAX_DISAMBIGUATE", 1)
    f = _one(index, "`block_pool.py:4 — OtherPool`")
    assert (f.status, f.path) == ("ok", "pkg/other/block_pool.py")


def _anchor(path: str, line: int = 1) -> Anchor:
    text = f"{path}:{line}"
    return Anchor("d.md", 1, 1, text, path, line, None, None, None, (0, len(path)), (len(path) + 1, len(text)))


def test_nothing_outside_the_tree_is_opened(tree: Path, tmp_path: Path) -> None:
    """`../`, absolute and symlinked-out paths are missing-file, and the outside file is never opened."""
    index = open_index(tree, tmp_path / "cache")  # fresh: nothing loaded before the hook listens
    secret = str((tree.parent / "secret.py").resolve())
    opened: list[str] = []
    recording = [True]

    def hook(event: str, args: tuple) -> None:
        if recording[0] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(os.path.realpath(os.fsdecode(args[0])))

    sys.addaudithook(hook)
    try:
        anchors = [_anchor("../secret.py"), _anchor("../../etc/passwd"), _anchor(secret), _anchor("pkg/link.py"),
                   _anchor("pkg/../../secret.py"), _anchor("~/secret.py"), _anchor("pkg/core/kv_utils.py")]  # fmt: skip
        found = resolve(anchors, index)
    finally:
        recording[0] = False
    assert [f.status for f in found] == ["missing-file"] * (len(anchors) - 1) + ["ok"]
    assert any(p.endswith("pkg/core/kv_utils.py") for p in opened)  # the hook does see reads
    assert not any(p == secret or p.startswith("/etc/") for p in opened)


@pytest.mark.parametrize(
    ("cited", "rel"),
    [("a/b.py", "a/b.py"), ("./a/../a/b.py", "a/b.py"), ("../b.py", None), ("a/../../b.py", None),
     ("/etc/x.py", None), ("~/x.py", None), ("", None), ("a\\b.py", None)],
)  # fmt: skip
def test_tree_relative_refuses_paths_that_leave_the_tree(cited: str, rel: str | None) -> None:
    """Normalisation keeps in-tree paths and returns None for anything that escapes."""
    assert tree_relative(cited) == rel


GOOD = [
    f"`{BP}:20 — BlockPool.get_new_blocks()`", "kv_utils.py:4 — KVCacheBlock", f"{BP}:22–24 — the body",
    "[`OtherPool`](upstream/pkg/other/block_pool.py#L4-L8)", f"{BP}:8 and :31 — BlockPool", "`csrc/kernel.cu:2`",
]  # fmt: skip
PATHS = [BP, "block_pool.py", "kv_utils.py", "../x.py", "/abs/x.py", "pkg/nope.py", "csrc/kernel.cu", "pkg/link.py"]
LABELS = ["BlockPool", "helper.inner()", "Nope.nope", "the body", "OtherPool", "Scheduler.schedule", "x(", "`"]


@st.composite
def mutated(draw) -> str:
    """A real anchor with its path, number, label or characters mutated."""
    text = draw(st.sampled_from(GOOD))
    choice = draw(st.integers(0, 3))
    if choice == 0:
        text = text.replace(BP, draw(st.sampled_from(PATHS)))
    elif choice == 1:
        text = text.replace("20", str(draw(st.integers(0, 10**7 - 1))), 1)
    elif choice == 2:
        text = text.replace("BlockPool", draw(st.sampled_from(LABELS)))
    else:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=3)) + text[at:]
    return text


@settings(max_examples=200, deadline=None)
@given(docs=st.lists(mutated() | st.text(max_size=60), min_size=1, max_size=4))
def test_mutated_anchors_always_get_a_known_status(index, docs: list[str]) -> None:
    """Mutated anchors and arbitrary text: no exception escapes, every status is from STATUSES."""
    anchors = scan_text("\n".join(docs), "d.md")
    for f in resolve(anchors, index):
        assert f.status in STATUSES and f.message
        if f.status == "ok":
            assert f.path in index.paths
