"""Lab 00.01 tests: hand-written attention equals PyTorch SDPA, respects causality, handles GQA."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from annotator.labs import load_impl

impl = load_impl(__file__)


def qkv(heads: int, kv_heads: int, q_len: int, kv_len: int, dim: int = 8, seed: int = 0):
    """Random float64 q, k, v in the lab's [heads, len, dim] layout."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(heads, q_len, dim, generator=g, dtype=torch.float64)
    k = torch.randn(kv_heads, kv_len, dim, generator=g, dtype=torch.float64)
    v = torch.randn(kv_heads, kv_len, dim, generator=g, dtype=torch.float64)
    return q, k, v


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch_sdpa_without_gqa(causal: bool):
    """With as many K/V heads as query heads, the output equals torch SDPA."""
    q, k, v = qkv(4, 4, 7, 7)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(impl.attention(q, k, v, causal=causal), expected)


def test_gqa_head_uses_its_group():
    """Each of 6 query heads attends to K/V head h // 3 of 2 KV heads."""
    q, k, v = qkv(6, 2, 5, 5, seed=1)
    out = impl.attention(q, k, v, causal=True)
    for h in range(6):
        expected = F.scaled_dot_product_attention(
            q[h : h + 1], k[h // 3 : h // 3 + 1], v[h // 3 : h // 3 + 1], is_causal=True
        )
        torch.testing.assert_close(out[h : h + 1], expected)


def test_future_keys_do_not_leak():
    """Changing keys and values after position p leaves the outputs of queries 0..p unchanged."""
    q, k, v = qkv(2, 2, 9, 9, seed=2)
    k2, v2 = k.clone(), v.clone()
    k2[:, 5:] += 3.0
    v2[:, 5:] -= 7.0
    a = impl.attention(q, k, v, causal=True)
    b = impl.attention(q, k2, v2, causal=True)
    torch.testing.assert_close(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_chunk_and_decode_align_bottom_right():
    """The last rows of full-prompt attention equal a chunk's attention; decode sees all keys."""
    q, k, v = qkv(2, 1, 10, 10, seed=3)
    full = impl.attention(q, k, v, causal=True)
    torch.testing.assert_close(impl.attention(q[:, 6:], k, v, causal=True), full[:, 6:])
    last = impl.attention(q[:, -1:], k, v, causal=True)
    torch.testing.assert_close(last, impl.attention(q[:, -1:], k, v, causal=False))
    assert impl.causal_mask(3, 5).tolist() == [
        [True, True, True, False, False],
        [True, True, True, True, False],
        [True, True, True, True, True],
    ]


def test_uneven_head_groups_are_rejected():
    """5 query heads over 2 K/V heads is a ValueError, not a silent mis-grouping."""
    with pytest.raises(ValueError):
        impl.repeat_kv(torch.zeros(2, 3, 4), 5)
