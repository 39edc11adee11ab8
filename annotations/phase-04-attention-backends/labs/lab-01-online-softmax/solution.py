"""Lab 04.01: attention computed tile by tile with a running (online) softmax.

A softmax needs the row maximum and the row sum before it can weight anything — which seems to
require every score at once. The online form keeps, per query row, the maximum seen so far, the
sum of exponentials relative to it and the weighted sum of values; each new tile of keys updates
the three and rescales what came before. FlashAttention-style kernels do this in on-chip memory
so the ``[q_len, kv_len]`` score matrix never reaches main memory.

Shapes: ``q`` ``[heads, q_len, dim]``; ``k``, ``v`` ``[heads, kv_len, dim]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SoftmaxState:
    """Running statistics for each query row after some tiles of keys.

    Attributes:
        row_max: ``[heads, q_len]`` largest score seen so far (``-inf`` before any).
        row_sum: ``[heads, q_len]`` sum of ``exp(score - row_max)`` so far.
        acc: ``[heads, q_len, dim]`` sum of ``exp(score - row_max) * value`` so far.
    """

    row_max: torch.Tensor
    row_sum: torch.Tensor
    acc: torch.Tensor


def initial_state(heads: int, q_len: int, dim: int, dtype: torch.dtype) -> SoftmaxState:
    """The state before any key has been seen."""
    return SoftmaxState(
        row_max=torch.full((heads, q_len), float("-inf"), dtype=dtype),
        row_sum=torch.zeros(heads, q_len, dtype=dtype),
        acc=torch.zeros(heads, q_len, dim, dtype=dtype),
    )


def online_softmax_step(
    state: SoftmaxState, tile_scores: torch.Tensor, tile_values: torch.Tensor
) -> SoftmaxState:
    """Fold one tile of (already scaled and masked) scores and its values into the state.

    Args:
        state: Statistics over the keys seen so far.
        tile_scores: ``[heads, q_len, tile]``; masked entries are ``-inf``.
        tile_values: ``[heads, tile, dim]``.
    """
    new_max = torch.maximum(state.row_max, tile_scores.amax(dim=-1))
    # Rows that have seen only masked scores keep max -inf; subtracting -inf from -inf is NaN.
    safe_max = torch.where(torch.isinf(new_max), torch.zeros_like(new_max), new_max)
    correction = torch.exp(state.row_max - safe_max)
    weights = torch.exp(tile_scores - safe_max.unsqueeze(-1))
    return SoftmaxState(
        row_max=new_max,
        row_sum=state.row_sum * correction + weights.sum(dim=-1),
        acc=state.acc * correction.unsqueeze(-1) + weights @ tile_values,
    )


def tiled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    block_size: int,
    causal: bool = True,
    scale: float | None = None,
) -> torch.Tensor:
    """Attention over key tiles of ``block_size``; equal to the plain softmax version.

    The causal mask is bottom-right aligned: the queries are the last ``q_len`` positions.
    """
    heads, q_len, dim = q.shape
    kv_len = k.shape[1]
    scale = 1.0 / math.sqrt(dim) if scale is None else scale
    state = initial_state(heads, q_len, dim, q.dtype)
    query_pos = torch.arange(q_len).unsqueeze(1) + (kv_len - q_len)
    for start in range(0, kv_len, block_size):
        stop = min(start + block_size, kv_len)
        scores = (q @ k[:, start:stop].transpose(-1, -2)) * scale
        if causal:
            visible = torch.arange(start, stop).unsqueeze(0) <= query_pos
            scores = scores.masked_fill(~visible, float("-inf"))
        state = online_softmax_step(state, scores, v[:, start:stop])
    return state.acc / state.row_sum.unsqueeze(-1)
