"""Lab 07.02 tests: MoE alignment invariants, and tiled execution == the per-token definition."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def rand(*shape, seed: int) -> torch.Tensor:
    """Seeded float64 normal tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def routing(tokens: int, top_k: int, experts: int, seed: int) -> torch.Tensor:
    """Random distinct experts per token, [tokens, top_k] int64."""
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(experts, generator=g)[:top_k] for _ in range(tokens)])


def test_hand_worked_example():
    """Three tokens, top-2, four experts, tiles of 2: the exact alignment."""
    topk_ids = torch.tensor([[2, 0], [0, 3], [2, 0]])  # pairs 0..5
    align = impl.moe_align_block_size(topk_ids, block_size=2, num_experts=4)
    s = 6  # sentinel
    assert align.sorted_token_ids.tolist() == [1, 2, 5, s, 0, 4, 3, s]
    assert align.expert_ids.tolist() == [0, 0, 2, 3]
    assert align.num_tokens_post_padded == 8


@pytest.mark.parametrize("block_size", [1, 3, 4, 16])
def test_alignment_invariants(block_size: int):
    """Each pair once; tiles are expert-pure; runs are tile multiples; unused experts own no tile."""
    experts, top_k = 8, 2
    topk_ids = routing(11, top_k, experts, seed=block_size)
    align = impl.moe_align_block_size(topk_ids, block_size, experts)
    flat = topk_ids.flatten()
    sentinel = flat.numel()
    ids = align.sorted_token_ids
    assert len(ids) == align.num_tokens_post_padded == len(align.expert_ids) * block_size
    assert sorted(i for i in ids.tolist() if i != sentinel) == list(range(sentinel))
    for b, expert in enumerate(align.expert_ids.tolist()):
        tile = [i for i in ids[b * block_size : (b + 1) * block_size].tolist() if i != sentinel]
        assert tile and all(int(flat[i]) == expert for i in tile)
    counts = torch.bincount(flat, minlength=experts)
    expected_total = int(((counts + block_size - 1) // block_size * block_size).sum())
    assert align.num_tokens_post_padded == expected_total
    assert set(align.expert_ids.tolist()) == set(flat.tolist())


def per_token_moe(x, weights, topk_ids, w1, w2):
    """The oracle: each token's weighted sum over its experts."""
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for w, e in zip(weights[t].tolist(), topk_ids[t].tolist()):
            out[t] += w * impl.expert_mlp(x[t : t + 1], w1[e], w2[e])[0]
    return out


@pytest.mark.parametrize("block_size", [1, 2, 5, 64])
def test_tiled_moe_equals_per_token(block_size: int):
    """The tile-by-tile layer equals the per-token loop."""
    experts, top_k, hidden, inter = 5, 2, 6, 10
    x = rand(9, hidden, seed=1)
    w1, w2 = rand(experts, 2 * inter, hidden, seed=2) * 0.3, rand(experts, hidden, inter, seed=3) * 0.3
    topk_ids = routing(9, top_k, experts, seed=4)
    weights = torch.softmax(rand(9, top_k, seed=5), -1)
    got = impl.blocked_moe(x, weights, topk_ids, w1, w2, block_size)
    torch.testing.assert_close(got, per_token_moe(x, weights, topk_ids, w1, w2))
