"""Tests for minivllm.model.layers, each against its transformers counterpart."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import LlamaConfig
from transformers.models.llama import modeling_llama as hf

from minivllm.model.layers import FusedLinear, RMSNorm, RotaryEmbedding, SiluAndMul


def test_rmsnorm_matches_transformers() -> None:
    """RMSNorm equals LlamaRMSNorm for the same gain."""
    torch.manual_seed(0)
    x = torch.randn(7, 32) * 3
    ours, ref = RMSNorm(32, 1e-5), hf.LlamaRMSNorm(32, eps=1e-5)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
        ref.weight.copy_(ours.weight)
    torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-6)


def test_rotary_matches_transformers_at_arbitrary_positions() -> None:
    """Indexing the cos/sin cache by position equals transformers' rotary for any positions."""
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, max_position_embeddings=128)
    positions = torch.tensor([0, 5, 3, 127, 64])
    q, k = torch.randn(5, 4, 16), torch.randn(5, 2, 16)
    ours_q, ours_k = RotaryEmbedding(16, 128, cfg.rope_parameters["rope_theta"])(positions, q, k)
    cos, sin = hf.LlamaRotaryEmbedding(cfg)(q, positions[None])
    ref_q, ref_k = hf.apply_rotary_pos_emb(q.transpose(0, 1)[None], k.transpose(0, 1)[None], cos, sin)
    torch.testing.assert_close(ours_q, ref_q[0].transpose(0, 1), rtol=0, atol=1e-6)
    torch.testing.assert_close(ours_k, ref_k[0].transpose(0, 1), rtol=0, atol=1e-6)


def test_silu_and_mul_gates_second_half_by_first() -> None:
    """SiluAndMul(x) = silu(x[:, :d]) * x[:, d:]."""
    x = torch.randn(3, 8)
    torch.testing.assert_close(SiluAndMul()(x), torch.nn.functional.silu(x[:, :4]) * x[:, 4:])


def test_fused_linear_equals_separate_projections() -> None:
    """A fused projection loaded shard by shard computes the separate ones side by side."""
    torch.manual_seed(0)
    parts = {"q": nn.Linear(8, 6, bias=True), "k": nn.Linear(8, 2, bias=True), "v": nn.Linear(8, 2, bias=True)}
    fused = FusedLinear(8, {n: p.out_features for n, p in parts.items()}, bias=True)
    for name, lin in parts.items():
        fused.load_shard(fused.weight, name, lin.weight.detach())
        fused.load_shard(fused.bias, name, lin.bias.detach())
    x = torch.randn(4, 8)
    expected = torch.cat([lin(x) for lin in parts.values()], dim=-1)
    torch.testing.assert_close(fused(x), expected)


def test_fused_linear_rejects_wrong_shard_shape() -> None:
    """A checkpoint tensor of the wrong shape is refused with the shard named."""
    fused = FusedLinear(8, {"gate": 4, "up": 4})
    with pytest.raises(ValueError, match="gate"):
        fused.load_shard(fused.weight, "gate", torch.zeros(5, 8))
