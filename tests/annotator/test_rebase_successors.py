"""Tests for annotator.rebase.successors and .evidence: candidates, evidence and the score of a vanished definition."""

from __future__ import annotations

from pathlib import Path

from annotator.index import open_index
from annotator.rebase.evidence import name_similarity, noisy_or
from annotator.rebase.symbols import SymbolLocator
from annotator.rebase.tree import TreeView

MAPPING = '''    """Map checkpoint expert weights to parameters."""
    pairs = []
    for expert_id in range(num_experts):
        for shard, name in (("w1", gate_name), ("w2", down_name), ("w3", up_name)):
            pairs.append((f"experts.{shard}", f"experts.{expert_id}.{name}.", expert_id, shard))
    return pairs
'''


def locate(tmp_path: Path, old: dict[str, str], new: dict[str, str], path: str, qualname: str):
    for side, files in (("old", old), ("new", new)):
        for rel, text in files.items():
            (tmp_path / side / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / side / rel).write_text(text)
    cache = tmp_path / "cache"
    loc = SymbolLocator(TreeView(open_index(tmp_path / "old", cache)), TreeView(open_index(tmp_path / "new", cache)))
    sym = next(s for s in loc.old.file(path).symbols if s.qualname == qualname)
    return loc.locate(path, sym)


def test_name_similarity_edit_distance_and_tokens():
    """A plural or a shared-token rename is close; unrelated names are not."""
    assert name_similarity("compute_slot_mapping", "compute_slot_mappings") > 0.9
    assert name_similarity("NgramProposer", "NgramGPUSpeculator") > name_similarity("NgramProposer", "BlockPool")
    assert name_similarity("forward", "forward") == 1.0


def test_noisy_or_one_strong_piece_is_enough_a_same_name_alone_is_not():
    """An identical body carries a candidate; the same name alone never reaches the default bar."""
    assert noisy_or({"body": 1.0}) > 0.8
    assert noisy_or({"name": 0.83}) < 0.6
    assert noisy_or({"name": 0.5, "callers": 0.5}) > max(noisy_or({"name": 0.5}), noisy_or({"callers": 0.5}))


def test_forwarding_shim_passes_its_callers_to_the_real_home(tmp_path):
    """Callers switched to a thin wrapper; the wrapper's one call names where the body went."""
    args = "(model, gate_name, down_name, up_name, num_experts)"
    old = {"pkg/moe/layer.py": f"class FusedMoE:\n    @staticmethod\n    def make_expert_params_mapping{args}:\n{MAPPING.replace('    ', '        ', 1).replace(chr(10) + '    ', chr(10) + '        ')}",
           "pkg/models/llama.py": "from pkg.moe.layer import FusedMoE\nm = FusedMoE.make_expert_params_mapping(1, 2, 3, 4, 5)\n"}
    new = {"pkg/moe/layer.py": f"from pkg.moe.routed import RoutedExperts\n\n\ndef moe_make_expert_params_mapping{args}:\n"
                               f"    return RoutedExperts.make_expert_params_mapping{args}\n",
           "pkg/moe/routed.py": f"class RoutedExperts:\n    @staticmethod\n    def make_expert_params_mapping{args}:\n{MAPPING.replace('    ', '        ', 1).replace(chr(10) + '    ', chr(10) + '        ')}",
           "pkg/models/llama.py": "from pkg.moe.layer import moe_make_expert_params_mapping\nm = moe_make_expert_params_mapping(1, 2, 3, 4, 5)\n"}
    m = locate(tmp_path, old, new, "pkg/moe/layer.py", "FusedMoE.make_expert_params_mapping")
    assert (m.path, m.symbol.qualname) == ("pkg/moe/routed.py", "RoutedExperts.make_expert_params_mapping")
    assert any("forwards to it" in e for e in m.evidence)


def test_two_equally_good_homes_are_left_to_a_person(tmp_path):
    """Two copies of the body in two new places: ``missing``, both listed, nothing re-anchored."""
    body = "def {name}(rows):\n    total = sum(len(row) for row in rows)\n    return total // max(len(rows), 1)\n"
    old = {"pkg/a.py": body.format(name="average_row_length")}
    new = {"pkg/a.py": "", "pkg/gpu/rows.py": body.format(name="average_row_length_gpu"),
           "pkg/cpu/rows.py": body.format(name="average_row_length_cpu")}
    m = locate(tmp_path, old, new, "pkg/a.py", "average_row_length")
    assert m.symbol is None and m.how == "missing" and "fit equally" in m.note
    assert {c.split(" — ")[0].rsplit(":", 1)[0] for c in m.candidates[:2]} == {"pkg/gpu/rows.py", "pkg/cpu/rows.py"}
