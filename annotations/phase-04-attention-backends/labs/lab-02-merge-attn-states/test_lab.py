"""Lab 04.02 tests: partial attentions merged by log-sum-exp equal attention over all keys."""

from __future__ import annotations

import math

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def rand(*shape, seed: int):
    """Seeded float64 normal tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def full_attention(q, k, v, mask=None):
    """The oracle: softmax over all keys at once, plus the log-sum-exp of the scores."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, -1) @ v, torch.logsumexp(scores, -1)


def test_attention_with_lse_matches_oracle():
    """The output and the LSE equal the full-softmax oracle."""
    q, k, v = rand(2, 3, 4, seed=0), rand(2, 6, 4, seed=1), rand(2, 6, 4, seed=2)
    out, lse = impl.attention_with_lse(q, k, v)
    ref_out, ref_lse = full_attention(q, k, v)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(lse, ref_lse)


def test_any_split_merges_back_exactly():
    """Splitting the keys at every point and merging equals attention over all keys."""
    q, k, v = rand(2, 3, 4, seed=3), rand(2, 9, 4, seed=4), rand(2, 9, 4, seed=5)
    ref_out, ref_lse = full_attention(q, k, v)
    for cut in range(1, 9):
        a = impl.attention_with_lse(q, k[:, :cut], v[:, :cut])
        b = impl.attention_with_lse(q, k[:, cut:], v[:, cut:])
        out, lse = impl.merge_attn_states(*a, *b)
        torch.testing.assert_close(out, ref_out)
        torch.testing.assert_close(lse, ref_lse)


def test_cascade_prefix_once_then_suffixes():
    """A shared prefix attended once, merged with each request's suffix, equals full attention."""
    prefix_k, prefix_v = rand(1, 8, 4, seed=6), rand(1, 8, 4, seed=7)
    for req in range(3):
        q = rand(1, 2, 4, seed=10 + req)
        suffix_k, suffix_v = rand(1, 3 + req, 4, seed=20 + req), rand(1, 3 + req, 4, seed=30 + req)
        prefix_state = impl.attention_with_lse(q, prefix_k, prefix_v)
        merged, _ = impl.merge_attn_states(*prefix_state, *impl.attention_with_lse(q, suffix_k, suffix_v))
        ref, _ = full_attention(q, torch.cat((prefix_k, suffix_k), 1), torch.cat((prefix_v, suffix_v), 1))
        torch.testing.assert_close(merged, ref)


def test_merge_is_associative_and_empty_is_neutral():
    """(a+b)+c == a+(b+c); merging with an empty piece changes nothing; empty+empty is 0, not NaN."""
    q = rand(1, 2, 4, seed=40)
    parts = [impl.attention_with_lse(q, rand(1, n, 4, seed=41 + n), rand(1, n, 4, seed=51 + n)) for n in (2, 3, 4)]
    left = impl.merge_attn_states(*impl.merge_attn_states(*parts[0], *parts[1]), *parts[2])
    right = impl.merge_attn_states(*parts[0], *impl.merge_attn_states(*parts[1], *parts[2]))
    torch.testing.assert_close(left[0], right[0])
    torch.testing.assert_close(left[1], right[1])
    empty = (torch.zeros(1, 2, 4, dtype=torch.float64), torch.full((1, 2), float("-inf"), dtype=torch.float64))
    same = impl.merge_attn_states(*parts[0], *empty)
    torch.testing.assert_close(same[0], parts[0][0])
    both_empty = impl.merge_attn_states(*empty, *empty)
    assert torch.equal(both_empty[0], torch.zeros(1, 2, 4, dtype=torch.float64))
    assert torch.isneginf(both_empty[1]).all()


def test_chunked_prefill_cache_plus_causal_chunk():
    """Unmasked attention to cached keys merged with causal attention to the chunk equals full causal attention."""
    cached, chunk = 5, 4
    q_all, k_all, v_all = rand(2, cached + chunk, 4, seed=60), rand(2, cached + chunk, 4, seed=61), rand(2, cached + chunk, 4, seed=62)
    q = q_all[:, cached:]
    causal = torch.ones(chunk, chunk, dtype=torch.bool).tril()
    cache_part = impl.attention_with_lse(q, k_all[:, :cached], v_all[:, :cached])
    chunk_part = impl.attention_with_lse(q, k_all[:, cached:], v_all[:, cached:], mask=causal)
    out, _ = impl.merge_attn_states(*cache_part, *chunk_part)
    full_mask = torch.ones(cached + chunk, cached + chunk, dtype=torch.bool).tril()[cached:]
    ref, _ = full_attention(q, k_all, v_all, mask=full_mask)
    torch.testing.assert_close(out, ref)
