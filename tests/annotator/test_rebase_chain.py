"""Tests for annotator.rebase.chain: anchors followed release by release, on small fixture trees.

Each test writes two or three miniature releases into ``tmp_path`` (one kind of change each:
rename, move, split, merge, alias, removal, member rename inside a moved class), resolves the
anchors of a small markdown document in the first and walks them through the chain.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from annotator.anchors import scan_text
from annotator.index import open_index
from annotator.rebase.chain import Tree, walk
from annotator.rebase.releases import pick_releases
from annotator.resolve import resolve

BODY = '''    """Fill the slot table for every scheduled request."""
    positions = compute_positions(request_ids, num_tokens)
    offsets = positions % block_size
    table = lookup_block_table(request_ids, positions // block_size)
    return table * block_size + offsets
'''


def release(tmp: Path, version: str, files: dict[str, str]) -> Tree:
    """A fixture release: its files under ``tmp/version``."""
    root = tmp / version
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return Tree(version, f"sha-{version}", root)


def line(tree: Tree, path: str, needle: str) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    lines = (tree.root / path).read_text().split("\n")
    return next(i for i, text in enumerate(lines, 1) if needle in text)


def run(tmp: Path, trees: list[Tree], doc: str, opener=None, cache=True):
    """Resolve ``doc``'s anchors in the first tree and walk them through ``trees``."""
    cache_dir = tmp / "cache"
    anchors = scan_text(doc, "notes.md", python=False)
    findings = resolve(anchors, open_index(trees[0].root, cache_dir))
    opener = opener or (lambda root: open_index(root, cache_dir))
    return walk(findings, trees, opener, cache_dir=cache_dir if cache else None)


def test_pick_releases_all_minor_none():
    """``all`` keeps every final release after the pin, ``minor`` the newest of each series, ``none`` the target."""
    listed = ["0.22.0", "0.22.1", "0.23.0", "0.24.0rc1", "0.24.0", "0.25.0", "0.25.1", "0.26.0"]
    assert pick_releases(listed, "0.22.1", "0.25.1", "all") == ["0.23.0", "0.24.0", "0.25.0", "0.25.1"]
    assert pick_releases(listed, "0.22.1", "0.26.0", "minor") == ["0.23.0", "0.24.0", "0.25.1", "0.26.0"]
    assert pick_releases(listed, "0.22.1", "0.26.0", "none") == ["0.26.0"]


def test_rename_is_found_in_the_release_where_it_happened(tmp_path):
    """A function renamed in 0.2.0 and shifted in 0.3.0 is ``renamed`` since 0.2.0, label rewritten."""
    caller = "from pkg.table import {name}\n\n\ndef step(ids):\n    return {name}(ids, 4, 16)\n"
    r1 = release(tmp_path, "0.1.0", {"pkg/table.py": "def compute_slot_mapping(request_ids, num_tokens, block_size):\n" + BODY,
                                      "pkg/runner.py": caller.format(name="compute_slot_mapping")})
    r2 = release(tmp_path, "0.2.0", {"pkg/table.py": "def compute_slot_mappings(request_ids, num_tokens, block_size):\n" + BODY,
                                      "pkg/runner.py": caller.format(name="compute_slot_mappings")})
    r3 = release(tmp_path, "0.3.0", {"pkg/table.py": "import math\n\n\ndef compute_slot_mappings(request_ids, num_tokens, block_size):\n" + BODY,
                                      "pkg/runner.py": caller.format(name="compute_slot_mappings")})
    cited = line(r1, "pkg/table.py", "offsets =")
    [rec] = run(tmp_path, [r1, r2, r3], f"See `pkg/table.py:{cited} — compute_slot_mapping()`.\n")
    assert (rec.status, rec.release, rec.successor) == ("renamed", "0.2.0", "compute_slot_mappings")
    assert (rec.new.path, rec.new.line, rec.new.label) == ("pkg/table.py", line(r3, "pkg/table.py", "offsets ="), "compute_slot_mappings()")
    assert any("newly used" in e for e in rec.evidence) and rec.confidence >= 0.6


def test_move_to_another_file_records_release(tmp_path):
    """A function moved to a new module keeps its name: ``moved-file``, with the release of the move."""
    r1 = release(tmp_path, "0.1.0", {"pkg/utils.py": "def get_kv_cache_configs(specs, memory, block_size):\n" + BODY})
    r2 = release(tmp_path, "0.2.0", {"pkg/utils.py": "X = 1\n"})
    r3 = release(tmp_path, "0.3.0", {"pkg/utils.py": "X = 1\n", "pkg/planning.py": "\n\ndef get_kv_cache_configs(specs, memory, block_size):\n" + BODY})
    # 0.2.0 is a release where the function is gone for a while; the chain reports it vanished there
    [gone] = run(tmp_path, [r1, r2, r3], "`pkg/utils.py:1 — get_kv_cache_configs()`\n")
    assert gone.status in ("missing", "removed") and gone.release == "0.2.0" and gone.new is None
    [rec] = run(tmp_path, [r1, r3], "`pkg/utils.py:1 — get_kv_cache_configs()`\n")
    assert (rec.status, rec.release, rec.new.path, rec.new.line) == ("moved-file", "0.3.0", "pkg/planning.py", 3)


SPLIT_OLD = '''class FusedMoE:
    """Routes tokens to experts and runs them."""

    def select_experts(self, router_logits, top_k):
        scores = softmax_over_experts(router_logits)
        weights, expert_ids = pick_top_k(scores, top_k)
        return normalise_weights(weights), expert_ids

    def run_experts(self, hidden_states, expert_ids, weights):
        gathered = gather_expert_weights(self.w13, expert_ids)
        activated = silu_and_mul(grouped_matmul(hidden_states, gathered))
        return grouped_matmul(activated, self.w2) * weights
'''
SPLIT_NEW = '''class RoutedExperts:
    """Runs the experts the router chose."""

    def run_experts(self, hidden_states, expert_ids, weights):
        gathered = gather_expert_weights(self.w13, expert_ids)
        activated = silu_and_mul(grouped_matmul(hidden_states, gathered))
        return grouped_matmul(activated, self.w2) * weights


class MoERouter:
    """Chooses the experts for each token."""

    def select_experts(self, router_logits, top_k):
        scores = softmax_over_experts(router_logits)
        weights, expert_ids = pick_top_k(scores, top_k)
        return normalise_weights(weights), expert_ids
'''


def test_split_class_reanchors_to_primary_piece_and_lists_the_other(tmp_path):
    """A class split in two: ``split``, anchored to one piece, the other piece listed."""
    r1 = release(tmp_path, "0.1.0", {"pkg/moe/layer.py": SPLIT_OLD})
    r2 = release(tmp_path, "0.2.0", {"pkg/moe/layer.py": SPLIT_NEW})
    [rec] = run(tmp_path, [r1, r2], "`pkg/moe/layer.py:1 — FusedMoE`\n")
    assert rec.status == "split" and rec.release == "0.2.0"
    pieces = {rec.successor} | {c.split(" — ")[1].split(" ")[0] for c in rec.candidates}
    assert {"RoutedExperts", "MoERouter"} <= pieces


def test_method_of_split_class_follows_its_own_piece(tmp_path):
    """A method of a split class lands on the same-named method of the piece that holds it."""
    r1 = release(tmp_path, "0.1.0", {"pkg/moe/layer.py": SPLIT_OLD})
    r2 = release(tmp_path, "0.2.0", {"pkg/moe/layer.py": SPLIT_NEW})
    cited = line(r1, "pkg/moe/layer.py", "def select_experts")
    [rec] = run(tmp_path, [r1, r2], f"`pkg/moe/layer.py:{cited} — FusedMoE.select_experts()`\n")
    assert rec.new is not None and rec.new.label == "MoERouter.select_experts()"
    assert rec.new.line == line(r2, "pkg/moe/layer.py", "def select_experts")


def test_merge_into_existing_function_needs_its_callers(tmp_path):
    """A function folded into one that already existed is ``merged`` when its callers moved there too."""
    old_f = "def pad_batch(batch, size):\n    extra = [PAD_TOKEN] * (size - len(batch))\n    return list(batch) + extra\n\n\n"
    old_g = "def trim_batch(batch, size):\n    return list(batch)[:size]\n"
    new_g = ("def fit_batch(batch, size):\n    extra = [PAD_TOKEN] * (size - len(batch))\n"
             "    return (list(batch) + extra)[:size]\n")
    r1 = release(tmp_path, "0.1.0", {"pkg/batch.py": old_f + old_g.replace("trim_batch", "fit_batch"),
                                      "pkg/use.py": "from pkg.batch import pad_batch\n\npad_batch([1], 4)\n"})
    r2 = release(tmp_path, "0.2.0", {"pkg/batch.py": new_g,
                                      "pkg/use.py": "from pkg.batch import fit_batch\n\nfit_batch([1], 4)\n"})
    [rec] = run(tmp_path, [r1, r2], "`pkg/batch.py:2 — pad_batch()`\n")
    assert (rec.status, rec.successor, rec.new.line) == ("merged", "fit_batch", 2)


def test_alias_leads_to_the_new_class_and_its_members(tmp_path):
    """``Old = New`` left behind in the package names the successor of the class and of its methods."""
    old = "class NixlConnectorWorker:\n    def start_load_kv(self, metadata):\n        return self.pull(metadata)\n"
    new = ("class NixlPullConnectorWorker:\n    def start_load_kv(self, metadata):\n        self.check(metadata)\n"
           "        return self.pull(metadata)\n\n\nNixlConnectorWorker = NixlPullConnectorWorker\n")
    r1 = release(tmp_path, "0.1.0", {"pkg/nixl/worker.py": old})
    r2 = release(tmp_path, "0.2.0", {"pkg/nixl/worker.py": new})
    doc = "`pkg/nixl/worker.py:1 — NixlConnectorWorker` and `pkg/nixl/worker.py:2 — NixlConnectorWorker.start_load_kv()`\n"
    cls, meth = run(tmp_path, [r1, r2], doc)
    assert (cls.status, cls.successor) == ("renamed", "NixlPullConnectorWorker")
    assert any("alias" in e for e in cls.evidence)
    assert (meth.status, meth.new.label, meth.new.line) == ("renamed", "NixlPullConnectorWorker.start_load_kv()", 2)


def test_removed_symbol_is_never_reanchored(tmp_path):
    """A function deleted with every use of it is ``removed`` in the release that dropped it."""
    r1 = release(tmp_path, "0.1.0", {"pkg/attn.py": "def use_cascade_attention(lens):\n    return max(lens) > 256\n\n\ndef run(lens):\n    return use_cascade_attention(lens)\n"})
    r2 = release(tmp_path, "0.2.0", {"pkg/attn.py": "def run(lens):\n    return sum(lens)\n"})
    r3 = release(tmp_path, "0.3.0", {"pkg/attn.py": "def run(lens):\n    return sum(lens) + 0\n"})
    [rec] = run(tmp_path, [r1, r2, r3], "`pkg/attn.py:1 — use_cascade_attention()`\n")
    assert (rec.status, rec.release, rec.new) == ("removed", "0.2.0", None)


def test_member_renamed_inside_moved_class(tmp_path):
    """A class moved to another file whose method was renamed: the method follows both changes."""
    body = "        logits = apply_temperature(logits, self.temperature)\n        return sample_from(logits.softmax(-1))\n"
    r1 = release(tmp_path, "0.1.0", {"pkg/sample/sampler.py": "class Sampler:\n    def forward(self, logits):\n" + body})
    r2 = release(tmp_path, "0.2.0", {"pkg/sample/sampler.py": "",
                                      "pkg/worker/sample.py": "import torch\n\n\nclass Sampler:\n    def __call__(self, logits):\n" + body})
    [rec] = run(tmp_path, [r1, r2], "`pkg/sample/sampler.py:3 — Sampler.forward()`\n")
    assert (rec.status, rec.new.path, rec.new.line, rec.new.label) == ("renamed", "pkg/worker/sample.py", 6, "Sampler.__call__()")


def test_unrelated_same_name_is_not_a_successor(tmp_path):
    """``Sampler.forward`` gone: a model layer's ``forward`` elsewhere is a candidate at most."""
    r1 = release(tmp_path, "0.1.0", {"pkg/sample/sampler.py": "class Sampler:\n    def forward(self, logits):\n        return pick(logits.softmax(-1))\n",
                                      "pkg/model/layer.py": "class Mlp:\n    pass\n"})
    r2 = release(tmp_path, "0.2.0", {"pkg/sample/sampler.py": "class Sampler:\n    pass\n",
                                      "pkg/model/layer.py": "class Mlp:\n    def forward(self, x):\n        return self.down(self.up(x))\n"})
    [rec] = run(tmp_path, [r1, r2], "`pkg/sample/sampler.py:2 — Sampler.forward()`\n")
    assert rec.status == "missing" and rec.new is None
    assert rec.candidates and "Mlp.forward" in rec.candidates[0]


def test_warm_walk_opens_no_index_and_cold_holds_two(tmp_path):
    """Every step's answers come from the step cache on a second walk; a cold walk keeps ≤ 2 trees."""
    trees = [release(tmp_path, f"0.{i}.0", {"pkg/m.py": "\n" * i + "def f(x):\n    return x + 1\n"}) for i in range(1, 5)]
    alive: list[weakref.ref] = []

    def opener(root):
        gc.collect()
        assert sum(r() is not None for r in alive) <= 1  # the one kept from the previous step
        index = open_index(root, tmp_path / "cache")
        alive.append(weakref.ref(index))
        return index

    [cold] = run(tmp_path, trees, "`pkg/m.py:2 — f()`\n", opener)
    assert (cold.status, cold.new.line) == ("moved", 5)
    opened: list[Path] = []
    [warm] = run(tmp_path, trees, "`pkg/m.py:2 — f()`\n", lambda root: opened.append(root) or open_index(root, tmp_path / "cache"))
    assert opened == [] and warm == cold


@pytest.mark.parametrize("cache", [True, False])
def test_identical_file_steps_are_unchanged(tmp_path, cache):
    """A cited file that no release touched maps to itself, with or without a step cache."""
    trees = [release(tmp_path, f"0.{i}.0", {"pkg/m.py": "def f(x):\n    return x\n", "pkg/o.py": f"V = {i}\n"}) for i in range(1, 4)]
    [rec] = run(tmp_path, trees, "`pkg/m.py:2 — f()`\n", cache=cache)
    assert (rec.status, rec.new.line, rec.confidence, rec.release) == ("unchanged", 2, 1.0, None)
