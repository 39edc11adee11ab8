"""Lab 04.01 tests: tiled online-softmax attention equals plain softmax attention exactly."""

from __future__ import annotations

import math

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def plain_attention(q, k, v, causal=True):
    """The oracle: full score matrix, bottom-right causal mask, softmax, weighted sum."""
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if causal:
        q_len, kv_len = q.shape[1], k.shape[1]
        qpos = torch.arange(q_len).unsqueeze(1) + kv_len - q_len
        scores = scores.masked_fill(torch.arange(kv_len).unsqueeze(0) > qpos, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def qkv(q_len: int, kv_len: int, seed: int = 0, scale: float = 1.0):
    """Random float64 inputs with 2 heads of dimension 4."""
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(2, n, 4, generator=g, dtype=torch.float64) * scale
        for n in (q_len, kv_len, kv_len)
    )


@pytest.mark.parametrize("block_size", [1, 3, 4, 7, 16])
@pytest.mark.parametrize("causal", [False, True])
def test_tiled_equals_plain(block_size: int, causal: bool):
    """For tile sizes dividing the length or not, tiled attention equals the plain softmax."""
    q, k, v = qkv(5, 11, seed=block_size)
    out = impl.tiled_attention(q, k, v, block_size=block_size, causal=causal)
    torch.testing.assert_close(out, plain_attention(q, k, v, causal))


def test_large_scores_stay_finite():
    """Scores near ±1000 (exp overflows) still match the float64 oracle via the running max."""
    q, k, v = qkv(4, 9, seed=1, scale=30.0)
    out = impl.tiled_attention(q.float(), k.float(), v.float(), block_size=2)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), plain_attention(q, k, v), atol=1e-4, rtol=1e-4)


def fold(state, scores, values, cuts):
    """Fold score/value columns into the state in pieces split at ``cuts``."""
    edges = [0, *cuts, scores.shape[-1]]
    for a, b in zip(edges, edges[1:]):
        state = impl.online_softmax_step(state, scores[..., a:b], values[:, a:b])
    return state


def test_any_split_gives_the_same_state():
    """One pass or any two-part split of the keys yields the same row_max, row_sum and acc."""
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(2, 3, 8, generator=g, dtype=torch.float64)
    values = torch.randn(2, 8, 4, generator=g, dtype=torch.float64)
    start = impl.initial_state(2, 3, 4, torch.float64)
    whole = fold(start, scores, values, [])
    torch.testing.assert_close(whole.acc / whole.row_sum.unsqueeze(-1), torch.softmax(scores, -1) @ values)
    for cut in range(1, 8):
        part = fold(start, scores, values, [cut])
        torch.testing.assert_close(part.row_max, whole.row_max)
        torch.testing.assert_close(part.row_sum, whole.row_sum)
        torch.testing.assert_close(part.acc, whole.acc)


def test_fully_masked_tile_keeps_state_valid():
    """A tile of all -inf scores first, then real scores: no NaN, same result as without it."""
    g = torch.Generator().manual_seed(3)
    scores = torch.randn(1, 2, 5, generator=g, dtype=torch.float64)
    values = torch.randn(1, 5, 4, generator=g, dtype=torch.float64)
    start = impl.initial_state(1, 2, 4, torch.float64)
    masked = impl.online_softmax_step(start, torch.full((1, 2, 3), float("-inf"), dtype=torch.float64), values[:, :3])
    assert not torch.isnan(masked.row_sum).any() and not torch.isnan(masked.acc).any()
    after = impl.online_softmax_step(masked, scores, values)
    direct = impl.online_softmax_step(start, scores, values)
    torch.testing.assert_close(after.acc / after.row_sum.unsqueeze(-1), direct.acc / direct.row_sum.unsqueeze(-1))
