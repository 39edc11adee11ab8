"""Tests for minivllm.worker.model_runner."""

from __future__ import annotations

from pathlib import Path

import torch

from minivllm.config import CacheConfig
from minivllm.core.sched.output import SchedulerOutput
from minivllm.model.loader import load_model
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams
from minivllm.worker.model_runner import (
    ModelRunner,
    compute_positions,
    copy_kv_blocks,
    prepare_inputs,
)


def _req(rid: str, n: int, **kw: object) -> Request:
    return Request(rid, list(range(3, 3 + n)), SamplingParams(temperature=0, **kw))


def test_prepare_inputs_flattens_positions_and_picks_sampling_rows() -> None:
    """Positions continue each request's sequence; only requests reaching their end sample."""
    a, b, c = _req("a", 6), _req("b", 10), _req("c", 3)
    a.num_computed_tokens = 5
    so = SchedulerOutput((a, b, c), (1, 4, 3), (5, 2, 0), ((1, 2), (3, 4, 5), (6,)))
    inputs = prepare_inputs(so, block_size=4)
    assert inputs.positions.tolist() == [5, 2, 3, 4, 5, 0, 1, 2]
    assert inputs.input_ids.tolist() == [8, 5, 6, 7, 8, 3, 4, 5]
    assert inputs.sampling_rows == [0, 2]
    assert inputs.logits_indices.tolist() == [0, 7]
    assert inputs.attn_metadata.slot_mapping.tolist() == [9, 14, 15, 16, 17, 24, 25, 26]


def test_compute_positions_matches_a_loop() -> None:
    """Vectorised positions equal the obvious per-request ranges."""
    starts, qlens = [5, 0, 17, 3], [1, 4, 2, 3]
    expected = [p for s, n in zip(starts, qlens) for p in range(s, s + n)]
    assert compute_positions(starts, qlens).tolist() == expected


def test_execute_model_samples_only_finished_prefills(tiny_llama_dir: Path) -> None:
    """A mid-prompt chunk yields no token; a completed prompt yields its greedy token."""
    runner = ModelRunner(load_model(tiny_llama_dir), CacheConfig(block_size=4, num_blocks=8))
    a, b = _req("a", 8), _req("b", 3)
    so = SchedulerOutput((a, b), (5, 3), (0, 0), ((1, 2), (3,)))
    out = runner.execute_model(so)
    assert out.req_ids == ("a", "b")
    assert out.sampled_token_ids[0] == () and len(out.sampled_token_ids[1]) == 1
    assert set(runner.states) == {"a", "b"}
    runner.execute_model(SchedulerOutput((), (), (), (), finished_req_ids=frozenset({"a"})))
    assert set(runner.states) == {"b"}


def test_kv_cache_shape_and_bytes(tiny_llama_dir: Path) -> None:
    """One [2, kv_heads, blocks, block_size, head_dim] zero tensor per layer, all counted."""
    runner = ModelRunner(load_model(tiny_llama_dir), CacheConfig(block_size=4, num_blocks=8))
    assert len(runner.kv_caches) == 2
    assert runner.kv_caches[0].shape == (2, 2, 8, 4, 16)
    assert runner.kv_cache_bytes == 2 * (2 * 8 * 4 * 2 * 16) * 4
    assert all(float(t.abs().sum()) == 0 for t in runner.kv_caches)


def test_logprobs_for_requesting_rows_only(tiny_llama_dir: Path) -> None:
    """Rows that asked for log-probs get them (k + sampled token); others get None."""
    runner = ModelRunner(load_model(tiny_llama_dir), CacheConfig(block_size=4, num_blocks=8))
    a, b = _req("a", 4, logprobs=2), _req("b", 4)
    out = runner.execute_model(SchedulerOutput((a, b), (4, 4), (0, 0), ((1,), (2,))))
    (entry,) = out.logprobs[0]
    token = out.sampled_token_ids[0][0]
    assert token in entry and entry[token].rank == 1 and len(entry) == 2
    assert out.logprobs[1] is None
    assert torch.isfinite(torch.tensor([lp.logprob for lp in entry.values()])).all()


def test_bfloat16_model_keeps_a_bfloat16_cache(tiny_llama_dir: Path) -> None:
    """With bfloat16 weights the KV cache follows, while logits and sampling stay float32."""
    runner = ModelRunner(load_model(tiny_llama_dir, torch.bfloat16), CacheConfig(block_size=4, num_blocks=8))
    assert runner.kv_caches[0].dtype == torch.bfloat16
    out = runner.execute_model(SchedulerOutput((_req("a", 5),), (5,), (0,), ((1, 2),)))
    assert len(out.sampled_token_ids[0]) == 1 and 0 <= out.sampled_token_ids[0][0] < 320


def test_prepare_inputs_appends_drafts_and_gives_them_logits_rows() -> None:
    """Drafts follow the real tokens at the next positions; each gets a logits row, plus the bonus."""
    a, b = _req("a", 6), _req("b", 4)
    a.num_computed_tokens = 5
    so = SchedulerOutput((a, b), (3, 4), (5, 0), ((1, 2), (3,)), scheduled_spec_decode_tokens=((40, 41), ()))
    inputs = prepare_inputs(so, block_size=4)
    assert inputs.input_ids.tolist() == [8, 40, 41, 3, 4, 5, 6]
    assert inputs.positions.tolist() == [5, 6, 7, 0, 1, 2, 3]
    assert inputs.logits_indices.tolist() == [0, 1, 2, 6]
    assert inputs.spec.target_logits_indices.tolist() == [0, 1]
    assert inputs.spec.bonus_logits_indices.tolist() == [2, 3]


def test_copy_kv_blocks_copies_every_layer() -> None:
    """A copy-on-write duplicates keys and values of the source block in all layers."""
    caches = [torch.randn(2, 2, 5, 4, 3) for _ in range(2)]
    copy_kv_blocks(caches, [(1, 3), (2, 4)])
    for cache in caches:
        assert torch.equal(cache[:, :, 3], cache[:, :, 1]) and torch.equal(cache[:, :, 4], cache[:, :, 2])


def test_forked_samples_draw_from_the_parents_row(tiny_llama_dir: Path) -> None:
    """A fork child gets its own token from the parent's logits; greedy children equal the parent."""
    runner = ModelRunner(load_model(tiny_llama_dir), CacheConfig(block_size=4, num_blocks=8))
    parent, child = _req("p", 5), _req("c", 5)
    out = runner.execute_model(SchedulerOutput((parent,), (5,), (0,), ((1, 2),), forks=((0, child),)))
    assert out.req_ids == ("p", "c")
    assert out.sampled_token_ids[0] == out.sampled_token_ids[1] and len(out.sampled_token_ids[1]) == 1
    assert "c" in runner.states
