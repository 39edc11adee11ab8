"""Lab 18.02 tests: analytic FLOPs equal torch's FLOP counter; decode is memory-bound, prefill is not."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from annotator.labs import load_impl

impl = load_impl(__file__)

SHAPE = impl.ModelShape(vocab=50, hidden=16, intermediate=24, layers=2, heads=4, kv_heads=2, head_dim=4)


def run_tiny_llama(shape, num_tokens: int, context_len: int, logits_tokens: int) -> int:
    """Run a tiny random Llama-shaped forward with explicit matmuls; return torch's FLOP count."""
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    q_dim, kv_dim = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    x = r(num_tokens, shape.hidden)
    cached_k = r(shape.kv_heads, context_len, shape.head_dim)
    cached_v = r(shape.kv_heads, context_len, shape.head_dim)
    layers = [
        (r(q_dim + 2 * kv_dim, shape.hidden), r(shape.hidden, q_dim), r(2 * shape.intermediate, shape.hidden), r(shape.hidden, shape.intermediate))
        for _ in range(shape.layers)
    ]
    lm_head = r(shape.vocab, shape.hidden)
    with FlopCounterMode(display=False) as counter:
        h = x
        for w_qkv, w_o, w_gu, w_down in layers:
            q, k, v = (h @ w_qkv.T).split([q_dim, kv_dim, kv_dim], dim=-1)
            q = q.view(num_tokens, shape.heads, shape.head_dim).transpose(0, 1)
            k = torch.cat((cached_k, k.view(num_tokens, shape.kv_heads, shape.head_dim).transpose(0, 1)), 1)
            v = torch.cat((cached_v, v.view(num_tokens, shape.kv_heads, shape.head_dim).transpose(0, 1)), 1)
            group = shape.heads // shape.kv_heads
            k, v = k.repeat_interleave(group, 0), v.repeat_interleave(group, 0)
            scores = q @ k.transpose(-1, -2)
            mask = torch.ones(num_tokens, context_len + num_tokens, dtype=torch.bool).tril(context_len)
            out = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1) @ v
            h = h + out.transpose(0, 1).reshape(num_tokens, q_dim) @ w_o.T
            gate, up = (h @ w_gu.T).chunk(2, -1)
            h = h + (F.silu(gate) * up) @ w_down.T
        h[-logits_tokens:] @ lm_head.T
    return counter.get_total_flops()


@pytest.mark.parametrize(
    "num_tokens,context_len,logits_tokens",
    [(12, 0, 1), (5, 9, 1), (1, 30, 1), (7, 3, 7)],
)
def test_flops_match_torch_counter(num_tokens: int, context_len: int, logits_tokens: int):
    """forward_flops equals FlopCounterMode on a real tiny forward (prefill, chunk, decode, all logits)."""
    expected = run_tiny_llama(SHAPE, num_tokens, context_len, logits_tokens)
    assert impl.forward_flops(SHAPE, num_tokens, context_len, logits_tokens) == expected


def test_decode_bytes_scale_with_batch_and_context():
    """Weights are read once per step; KV traffic grows linearly with batch and with context."""
    base = impl.decode_bytes(SHAPE, batch=1, context_len=0)
    assert base == SHAPE.num_params * 2
    one = impl.decode_bytes(SHAPE, 1, 100) - base
    assert impl.decode_bytes(SHAPE, 4, 100) - base == 4 * one
    assert impl.decode_bytes(SHAPE, 1, 200) - base == 2 * one
    assert one == 2 * SHAPE.layers * SHAPE.kv_heads * SHAPE.head_dim * 100 * 2


def test_roofline_decode_memory_bound_prefill_compute_bound():
    """On a 1 PFLOP/s, 3 TB/s device: batch-1 decode is memory-bound, a 2k prefill compute-bound."""
    big = impl.ModelShape(vocab=128_256, hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, head_dim=128)
    peak, bw = 1e15, 3e12
    d_flops = impl.forward_flops(big, 1, 1024, 1)
    d_bytes = impl.decode_bytes(big, 1, 1024)
    assert impl.roofline_time(d_flops, d_bytes, peak, bw) == d_bytes / bw
    p_flops = impl.forward_flops(big, 2048, 0, 1)
    assert impl.roofline_time(p_flops, big.num_params * 2, peak, bw) == p_flops / peak
    assert 100 < impl.critical_batch(peak, bw) < 1000
    assert impl.critical_batch(peak, bw) == 2 * impl.critical_batch(peak, bw, bytes_per_param=1)
